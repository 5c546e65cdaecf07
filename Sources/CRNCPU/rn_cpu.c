#include "rn_cpu.h"

int rn_cpu_has_avx2_fma(void) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

int rn_cpu_has_avx_vnni(void) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    /* CPUID leaf 7, sub-leaf 1, EAX bit 4: AVX-VNNI (VEX-encoded vpdpwssd on 256-bit registers).
     * The OS must also save AVX state, which the AVX2 check above establishes. */
    if (!rn_cpu_has_avx2_fma()) return 0;
    unsigned int eax = 0, ebx, ecx, edx;
    __asm__ volatile("cpuid" : "=a"(eax), "=b"(ebx), "=c"(ecx), "=d"(edx) : "a"(0));
    if (eax < 7) return 0;
    __asm__ volatile("cpuid" : "=a"(eax), "=b"(ebx), "=c"(ecx), "=d"(edx) : "a"(7), "c"(1));
    return (eax >> 4) & 1;
#else
    return 0;
#endif
}

int rn_cpu_has_avx512_vnni(void) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    /* The compiler's checks include the OS's XCR0 bits for the 512-bit and mask registers. */
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx512vnni") && rn_cpu_has_avx2_fma();
#else
    return 0;
#endif
}
