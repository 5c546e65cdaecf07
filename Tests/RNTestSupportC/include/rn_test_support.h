/* Test support: counts heap allocations made by the calling thread.
 *
 * alloc_counter.c defines malloc, calloc, realloc, posix_memalign, aligned_alloc, memalign and
 * valloc; linked into the test executable they interpose glibc's (the executable's symbols win)
 * and forward to glibc's __libc_* entry points. Counting is per thread, so tests running in
 * parallel do not disturb each other. */
#ifndef RN_TEST_SUPPORT_H
#define RN_TEST_SUPPORT_H

#include <stdint.h>

/* Starts counting this thread's allocations from zero. */
void rn_test_alloc_count_begin(void);
/* Stops counting; returns the number of allocation calls since begin. */
int64_t rn_test_alloc_count_end(void);
/* The bytes those calls requested (valid after end, until the next begin). */
int64_t rn_test_alloc_bytes(void);
/* 0 when built with AddressSanitizer, whose own allocator interposition excludes ours. */
int rn_test_alloc_counting_available(void);
/* Whether the interposer is active (a malloc since process start went through it). */
int rn_test_alloc_interposed(void);

#endif
