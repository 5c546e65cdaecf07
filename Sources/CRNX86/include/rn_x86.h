/* x86 dot-product intrinsics for the host kernel modules, as Swift-importable inline functions.
 * Each is defined only when the including module is compiled with the instruction set
 * (RNKernelsAVX512VNNI: -target-cpu icelake-server), and entered only after RNHostKernels'
 * CPU check. Clang vector types of 16 int32 lanes import into Swift as SIMD16<Int32>. */
#ifndef RN_X86_H
#define RN_X86_H

typedef int rn_i32x16 __attribute__((ext_vector_type(16)));

#if defined(__x86_64__) && defined(__AVX512VNNI__) && defined(__AVX512F__)
#include <immintrin.h>

/* vpdpbusd: lane i of acc + sum over j < 4 of u8(u byte 4i+j) * s8(s byte 4i+j), no saturation. */
static inline __attribute__((always_inline)) rn_i32x16 rn_dpbusd_512(rn_i32x16 acc, rn_i32x16 u, rn_i32x16 s) {
    return (rn_i32x16)_mm512_dpbusd_epi32((__m512i)acc, (__m512i)u, (__m512i)s);
}
#endif

#endif
