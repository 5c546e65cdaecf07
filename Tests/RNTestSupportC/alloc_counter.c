/* See rn_test_support.h. */
#include "rn_test_support.h"
#include <stddef.h>
#include <errno.h>

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *pointer, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);
extern void *__libc_valloc(size_t size);

#if defined(__has_feature)
#  if __has_feature(address_sanitizer)
#    define RN_UNDER_ASAN 1
#  endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#  define RN_UNDER_ASAN 1
#endif

static _Thread_local int counting;
static _Thread_local int64_t count;
static _Thread_local int64_t bytes;
static volatile int interposed;

static void note(size_t size) {
    interposed = 1;
    if (counting) { count++; bytes += (int64_t)size; }
}

void rn_test_alloc_count_begin(void) { count = 0; bytes = 0; counting = 1; }
int64_t rn_test_alloc_count_end(void) { counting = 0; return count; }
int64_t rn_test_alloc_bytes(void) { return bytes; }
int rn_test_alloc_interposed(void) { return interposed; }

#ifdef RN_UNDER_ASAN
/* AddressSanitizer interposes the allocator itself; ours would hand it foreign pointers. */
int rn_test_alloc_counting_available(void) { return 0; }
#else
int rn_test_alloc_counting_available(void) { return 1; }

void *malloc(size_t size) { note(size); return __libc_malloc(size); }
void *calloc(size_t n, size_t size) { note(n * size); return __libc_calloc(n, size); }
void *realloc(void *p, size_t size) { note(size); return __libc_realloc(p, size); }
void *memalign(size_t alignment, size_t size) { note(size); return __libc_memalign(alignment, size); }
void *aligned_alloc(size_t alignment, size_t size) { note(size); return __libc_memalign(alignment, size); }
void *valloc(size_t size) { note(size); return __libc_valloc(size); }
int posix_memalign(void **out, size_t alignment, size_t size) {
    note(size);
    if (alignment < sizeof(void *) || (alignment & (alignment - 1)) != 0) return EINVAL;
    void *p = __libc_memalign(alignment, size);
    if (!p) return ENOMEM;
    *out = p;
    return 0;
}
#endif
