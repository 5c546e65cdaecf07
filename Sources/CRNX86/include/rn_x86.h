/* x86 dot-product intrinsics for the host kernel modules, as Swift-importable inline functions.
 * Each is defined only when the including module is compiled with the instruction set
 * (RNKernelsAVX512VNNI: -target-cpu icelake-server; RNKernelsAVXVNNI: -Xcc -mavxvnni), and
 * entered only after RNHostKernels' CPU check. Clang vector types of 16 int32 lanes import into Swift as SIMD16<Int32>. */
#ifndef RN_X86_H
#define RN_X86_H

typedef int rn_i32x16 __attribute__((ext_vector_type(16)));
typedef int rn_i32x8 __attribute__((ext_vector_type(8)));

#if defined(__x86_64__) && defined(__AVXVNNI__)
#include <immintrin.h>

/* AVX-VNNI's 256-bit vpdpbusd (VEX): lane i of acc + sum over j < 4 of u8(u byte 4i+j) *
 * s8(s byte 4i+j), no saturation. For RNKernelsAVXVNNI (-Xcc -mavxvnni). */
static inline __attribute__((always_inline)) rn_i32x8 rn_dpbusd_256(rn_i32x8 acc, rn_i32x8 u, rn_i32x8 s) {
    return (rn_i32x8)_mm256_dpbusd_avx_epi32((__m256i)acc, (__m256i)u, (__m256i)s);
}
#endif

#if defined(__x86_64__) && defined(__AVX512VNNI__) && defined(__AVX512F__)
#include <immintrin.h>

/* vpdpbusd: lane i of acc + sum over j < 4 of u8(u byte 4i+j) * s8(s byte 4i+j), no saturation. */
static inline __attribute__((always_inline)) rn_i32x16 rn_dpbusd_512(rn_i32x16 acc, rn_i32x16 u, rn_i32x16 s) {
    return (rn_i32x16)_mm512_dpbusd_epi32((__m512i)acc, (__m512i)u, (__m512i)s);
}

/* gemmlowp's MultiplyByQuantizedMultiplier on 16 lanes, each with its own multiplier (never
 * INT32_MIN: the loader requires [2^30, 2^31) or 0) and shift (-31...30): x << max(shift, 0),
 * SaturatingRoundingDoublingHighMul as floor((a*m + 2^30) / 2^31) in 64-bit products of the even
 * and odd lanes (vpmuldq), then RoundingDivideByPOT by max(-shift, 0). The twin of
 * multiplyByQuantizedMultiplierLanes in RNKernels. */
static inline __attribute__((always_inline)) rn_i32x16 rn_mbqm_512(rn_i32x16 x, rn_i32x16 multiplier, rn_i32x16 shift) {
    const __m512i zero = _mm512_setzero_si512(), one = _mm512_set1_epi32(1);
    const __m512i m = (__m512i)multiplier, s = (__m512i)shift;
    const __m512i a = _mm512_sllv_epi32((__m512i)x, _mm512_max_epi32(s, zero));
    const __m512i right = _mm512_max_epi32(_mm512_sub_epi32(zero, s), zero);
    const __m512i round = _mm512_set1_epi64(1LL << 30);
    const __m512i even = _mm512_add_epi64(_mm512_mul_epi32(a, m), round);
    const __m512i odd = _mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(a, 32), _mm512_srli_epi64(m, 32)), round);
    /* Bits 31..62 of each product: the even lanes' in their low half, the odd lanes' in their high half. */
    const __m512i high = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(even, 31), _mm512_slli_epi64(odd, 1));
    const __m512i mask = _mm512_sub_epi32(_mm512_sllv_epi32(one, right), one);
    const __m512i remainder = _mm512_and_si512(high, mask);
    const __m512i threshold = _mm512_add_epi32(_mm512_srai_epi32(mask, 1), _mm512_srli_epi32(high, 31));
    const __m512i quotient = _mm512_srav_epi32(high, right);
    return (rn_i32x16)_mm512_mask_add_epi32(quotient, _mm512_cmpgt_epi32_mask(remainder, threshold), quotient, one);
}
#endif

#endif
