/*
 * Host platform: stdio, CLOCK_MONOTONIC, and a malloc counter. The counter wraps glibc's
 * allocator so the firmware can prove that 100 inferences make no heap call at all.
 */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "platform.h"

const char *platform_name = "host (x86-64 Linux, system C compiler)";
const char *const platform_count_unit = "ns";

static uint64_t heap_calls;
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
void *malloc(size_t n) { heap_calls++; return __libc_malloc(n); }
void *calloc(size_t n, size_t size) { heap_calls++; return __libc_calloc(n, size); }
void *realloc(void *p, size_t n) { heap_calls++; return __libc_realloc(p, n); }
void free(void *p) { __libc_free(p); }

void platform_print(const char *text) { fputs(text, stdout); }

uint64_t platform_count(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

uint64_t platform_heap_calls(void) { return heap_calls; }

void *platform_scratch(uint32_t bytes) {
    static uint8_t scratch[16 << 20] __attribute__((aligned(16)));
    return bytes <= sizeof scratch ? scratch : NULL;
}

void platform_exit(int status) {
    fflush(stdout);
    exit(status);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    platform_exit(firmware_main(argc > 1 ? argv[1] : ""));
}
