/*
 * Dual 16-bit multiply-accumulate for the Cortex-M DSP extension, imported into Swift by
 * RNKernels (Tiled/Conv2DS8DualMAC.swift). On Armv7E-M (Cortex-M4, M7) and other cores with
 * the ACLE SIMD32 feature each function is one instruction; elsewhere (the host, where the tests
 * run) a portable C twin computes the same bits.
 *
 * Lanes: a 32-bit word holds two int16 lanes (low, high) or four int8 lanes (bytes 0..3).
 */
#ifndef RN_DSP_H
#define RN_DSP_H
#include <stdint.h>

#if defined(__ARM_FEATURE_SIMD32) && __ARM_FEATURE_SIMD32
#include <arm_acle.h>

/* acc + lo(a) * lo(b) + hi(a) * hi(b): SMLAD. */
static inline int32_t rn_smlad(uint32_t a, uint32_t b, int32_t acc) { return __smlad((int32_t)a, (int32_t)b, acc); }
/* Bytes 0 and 2 sign-extended to int16 lanes: SXTB16. */
static inline uint32_t rn_sxtb16(uint32_t x) { return (uint32_t)__sxtb16((int32_t)x); }
/* Bytes 1 and 3 sign-extended to int16 lanes: SXTB16 with ROR #8. */
static inline uint32_t rn_sxtb16_ror8(uint32_t x) { return (uint32_t)__sxtb16((int32_t)__ror(x, 8)); }
/* offset + bytes 0 and 2, per int16 lane: SXTAB16. */
static inline uint32_t rn_sxtab16(uint32_t offset, uint32_t x) { return (uint32_t)__sxtab16((int32_t)offset, (int32_t)x); }
/* offset + bytes 1 and 3, per int16 lane: SXTAB16 with ROR #8. */
static inline uint32_t rn_sxtab16_ror8(uint32_t offset, uint32_t x) {
    return (uint32_t)__sxtab16((int32_t)offset, (int32_t)__ror(x, 8));
}

#else

static inline int32_t rn_lane_lo(uint32_t v) { return (int16_t)(uint16_t)(v & 0xFFFF); }
static inline int32_t rn_lane_hi(uint32_t v) { return (int16_t)(uint16_t)(v >> 16); }
static inline uint32_t rn_lanes(int32_t lo, int32_t hi) { return ((uint32_t)(uint16_t)lo) | ((uint32_t)(uint16_t)hi << 16); }

static inline int32_t rn_smlad(uint32_t a, uint32_t b, int32_t acc) {
    return (int32_t)((uint32_t)acc + (uint32_t)(rn_lane_lo(a) * rn_lane_lo(b)) + (uint32_t)(rn_lane_hi(a) * rn_lane_hi(b)));
}
static inline uint32_t rn_sxtb16(uint32_t x) { return rn_lanes((int8_t)(x & 0xFF), (int8_t)((x >> 16) & 0xFF)); }
static inline uint32_t rn_sxtb16_ror8(uint32_t x) { return rn_sxtb16((x >> 8) | (x << 24)); }
static inline uint32_t rn_sxtab16(uint32_t offset, uint32_t x) {
    return rn_lanes(rn_lane_lo(offset) + (int8_t)(x & 0xFF), rn_lane_hi(offset) + (int8_t)((x >> 16) & 0xFF));
}
static inline uint32_t rn_sxtab16_ror8(uint32_t offset, uint32_t x) { return rn_sxtab16(offset, (x >> 8) | (x << 24)); }
#endif

#endif
