/* CPU feature checks for run-time kernel dispatch (host only). */
#ifndef RN_CPU_H
#define RN_CPU_H

/* 1 when the CPU and OS support AVX2 and FMA (x86-64-v3), else 0. Always 0 off x86-64. */
int rn_cpu_has_avx2_fma(void);

/* 1 when the CPU also has AVX-VNNI (vpdpwssd: 16-bit multiply-adds fused with the int32 add). */
int rn_cpu_has_avx_vnni(void);

/* 1 when the CPU and OS support AVX-512 (F, BW, DQ, VL) with VNNI (vpdpbusd on 512-bit registers),
 * the instruction set of the RNKernelsAVX512VNNI module (Ice Lake server and later, Zen 4 and later). */
int rn_cpu_has_avx512_vnni(void);

#endif
