/*
 * This CPU's exact int8 multiply-accumulate ceiling on one thread: the 16-bit pairwise
 * multiply-add (vpmaddwd, 16 MACs per 256-bit instruction) plus the int32 add that accumulates
 * it (vpaddd), in 12 independent chains so that only throughput limits. Prints GMAC/s.
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

int main(void) {
    const long iterations = 20000000;     /* x 12 pairs x 16 MACs */
    double best = 0;
    for (int trial = 0; trial < 5; trial++) {
        long counter = iterations;
        double start = now();
        __asm__ volatile(
            "vpxor %%ymm0, %%ymm0, %%ymm0\n vpxor %%ymm1, %%ymm1, %%ymm1\n vpxor %%ymm2, %%ymm2, %%ymm2\n"
            "vpxor %%ymm3, %%ymm3, %%ymm3\n vpxor %%ymm4, %%ymm4, %%ymm4\n vpxor %%ymm5, %%ymm5, %%ymm5\n"
            "vpcmpeqw %%ymm14, %%ymm14, %%ymm14\n vpcmpeqw %%ymm15, %%ymm15, %%ymm15\n"
            "1:\n" STEP STEP
            "dec %0\n jnz 1b\n vzeroupper\n"
            : "+r"(counter) :
            : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",
              "xmm14", "xmm15", "cc");
        double seconds = now() - start;
        double gmacs = iterations * 12.0 * 16.0 / seconds / 1e9;
        if (gmacs > best) best = gmacs;
    }
    printf("%.2f\n", best);
    return 0;
}
