/* CPU feature checks for run-time kernel dispatch (host only). */
#ifndef RN_CPU_H
#define RN_CPU_H

/* 1 when the CPU and OS support AVX2 and FMA (x86-64-v3), else 0. Always 0 off x86-64. */
int rn_cpu_has_avx2_fma(void);

/* 1 when the CPU also has AVX-VNNI (vpdpwssd: 16-bit multiply-adds fused with the int32 add). */
int rn_cpu_has_avx_vnni(void);

#endif
