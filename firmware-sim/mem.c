/*
 * The C library functions the Embedded Swift runtime library calls, for the bare-metal link
 * (which links no libc, so that malloc cannot be linked by accident). Plain loops: the kernels
 * themselves do not call these on hot paths.
 */
#include <stddef.h>
#include <stdint.h>

void *memset(void *dst, int value, size_t n) {
    unsigned char *d = dst;
    while (n--) *d++ = (unsigned char)value;
    return dst;
}

void *memcpy(void *dst, const void *src, size_t n) {
    unsigned char *d = dst;
    const unsigned char *s = src;
    while (n--) *d++ = *s++;
    return dst;
}

void *memmove(void *dst, const void *src, size_t n) {
    unsigned char *d = dst;
    const unsigned char *s = src;
    if (d < s) { while (n--) *d++ = *s++; }
    else { d += n; s += n; while (n--) *--d = *--s; }
    return dst;
}

int memcmp(const void *a, const void *b, size_t n) {
    const unsigned char *x = a, *y = b;
    for (; n; n--, x++, y++) if (*x != *y) return *x < *y ? -1 : 1;
    return 0;
}

/* ARM EABI run-time helpers (the compiler emits these for memset/memmove of known alignment). */
void __aeabi_memclr(void *dst, size_t n) { memset(dst, 0, n); }
void __aeabi_memclr4(void *dst, size_t n) { memset(dst, 0, n); }
void __aeabi_memclr8(void *dst, size_t n) { memset(dst, 0, n); }
void __aeabi_memset(void *dst, size_t n, int value) { memset(dst, value, n); }   /* note the order */
void __aeabi_memset4(void *dst, size_t n, int value) { memset(dst, value, n); }
void __aeabi_memset8(void *dst, size_t n, int value) { memset(dst, value, n); }
void __aeabi_memmove(void *dst, const void *src, size_t n) { memmove(dst, src, n); }
void __aeabi_memcpy(void *dst, const void *src, size_t n) { memcpy(dst, src, n); }
void __aeabi_memcpy4(void *dst, const void *src, size_t n) { memcpy(dst, src, n); }
void __aeabi_memcpy8(void *dst, const void *src, size_t n) { memcpy(dst, src, n); }
void __aeabi_memmove4(void *dst, const void *src, size_t n) { memmove(dst, src, n); }
void __aeabi_memmove8(void *dst, const void *src, size_t n) { memmove(dst, src, n); }

/* Stack protector (the Swift library is built with it). */
uintptr_t __stack_chk_guard = 0x595e9fbd;
void platform_exit(int status) __attribute__((noreturn));
void platform_print(const char *text);
void __stack_chk_fail(void) {
    platform_print("fault: stack smashing detected\n");
    platform_exit(4);
}
