/*
 * This CPU's exact int8 multiply-accumulate ceiling on one thread: the 16-bit pairwise
 * multiply-add (vpmaddwd, 16 MACs per 256-bit instruction) plus the int32 add that accumulates
 * it (vpaddd), in 12 independent chains so that only throughput limits. Prints GMAC/s.
 * On CPUs with AVX512-VNNI it also prints the ceiling of vpdpbusd on 512-bit registers (64
 * u8 x s8 MACs per instruction, the blocked kernels' instruction), else 0.
 * Build: cc -O2 -mavx2 mac-ceiling.c (Tools/bench-peers does).
 */
#include <stdio.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/* One step: 6 vpmaddwd + 6 vpaddd into ymm0-ymm5 from ymm14, ymm15 (temporaries ymm6-ymm11). */
#define STEP "vpmaddwd %%ymm14, %%ymm15, %%ymm6\n vpaddd %%ymm6, %%ymm0, %%ymm0\n" \
             "vpmaddwd %%ymm14, %%ymm15, %%ymm7\n vpaddd %%ymm7, %%ymm1, %%ymm1\n" \
             "vpmaddwd %%ymm14, %%ymm15, %%ymm8\n vpaddd %%ymm8, %%ymm2, %%ymm2\n" \
             "vpmaddwd %%ymm14, %%ymm15, %%ymm9\n vpaddd %%ymm9, %%ymm3, %%ymm3\n" \
             "vpmaddwd %%ymm14, %%ymm15, %%ymm10\n vpaddd %%ymm10, %%ymm4, %%ymm4\n" \
             "vpmaddwd %%ymm14, %%ymm15, %%ymm11\n vpaddd %%ymm11, %%ymm5, %%ymm5\n"

#define CLOBBERS "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", \
                 "xmm11", "xmm14", "xmm15", "cc"

/* 2 x 6 vpmaddwd + vpaddd pairs of 16 MACs per iteration. */
static void madd_loop(long counter) {
    __asm__ volatile(
        "vpxor %%ymm0, %%ymm0, %%ymm0\n vpxor %%ymm1, %%ymm1, %%ymm1\n vpxor %%ymm2, %%ymm2, %%ymm2\n"
        "vpxor %%ymm3, %%ymm3, %%ymm3\n vpxor %%ymm4, %%ymm4, %%ymm4\n vpxor %%ymm5, %%ymm5, %%ymm5\n"
        "vpcmpeqw %%ymm14, %%ymm14, %%ymm14\n vpcmpeqw %%ymm15, %%ymm15, %%ymm15\n"
        "1:\n" STEP STEP
        "dec %0\n jnz 1b\n vzeroupper\n"
        : "+r"(counter) : : CLOBBERS);
}

/* 12 independent vpdpbusd chains on zmm0-zmm11. */
#define DP(r) "vpdpbusd %%zmm14, %%zmm15, %%zmm" #r "\n"
#define DSTEP DP(0) DP(1) DP(2) DP(3) DP(4) DP(5) DP(6) DP(7) DP(8) DP(9) DP(10) DP(11)

/* 2 x 12 vpdpbusd of 64 MACs per iteration. */
__attribute__((target("avx512f,avx512vnni")))
static void vnni512_loop(long counter) {
    __asm__ volatile(
        "vpxord %%zmm0, %%zmm0, %%zmm0\n vpxord %%zmm1, %%zmm1, %%zmm1\n vpxord %%zmm2, %%zmm2, %%zmm2\n"
        "vpxord %%zmm3, %%zmm3, %%zmm3\n vpxord %%zmm4, %%zmm4, %%zmm4\n vpxord %%zmm5, %%zmm5, %%zmm5\n"
        "vpxord %%zmm6, %%zmm6, %%zmm6\n vpxord %%zmm7, %%zmm7, %%zmm7\n vpxord %%zmm8, %%zmm8, %%zmm8\n"
        "vpxord %%zmm9, %%zmm9, %%zmm9\n vpxord %%zmm10, %%zmm10, %%zmm10\n vpxord %%zmm11, %%zmm11, %%zmm11\n"
        "vpternlogd $0xff, %%zmm14, %%zmm14, %%zmm14\n vpternlogd $0xff, %%zmm15, %%zmm15, %%zmm15\n"
        "1:\n" DSTEP DSTEP
        "dec %0\n jnz 1b\n vzeroupper\n"
        : "+r"(counter) : : CLOBBERS);
}

/* GMAC/s of the best of 5 timed calls of loop(iterations). */
static double best_of(void (*loop)(long), long iterations, double macs_per_iteration) {
    double best = 0;
    for (int trial = 0; trial < 5; trial++) {
        double start = now();
        loop(iterations);
        double gmacs = iterations * macs_per_iteration / (now() - start) / 1e9;
        if (gmacs > best) best = gmacs;
    }
    return best;
}

int main(void) {
    double madd = best_of(madd_loop, 20000000, 2 * 6 * 16);
    __builtin_cpu_init();
    int vnni = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vnni");
    printf("%.2f %.2f\n", madd, vnni ? best_of(vnni512_loop, 10000000, 2 * 12 * 64) : 0.0);
    return 0;
}
