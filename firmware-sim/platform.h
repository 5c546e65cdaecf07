/*
 * The firmware's platform hooks: everything main.c needs from the board. Two implementations:
 * platform_host.c (Linux, stdio, wall clock) and platform_m4.c (QEMU mps2-an386 / an500:
 * semihosting output and exit, SysTick counting guest instructions under -icount).
 */
#ifndef RN_FIRMWARE_PLATFORM_H
#define RN_FIRMWARE_PLATFORM_H
#include <stdint.h>

/* Target name for the banner, e.g. "Cortex-M4 (QEMU mps2-an386)". */
extern const char *platform_name;
/* What platform_count() counts: "instructions" or "ns". */
extern const char *const platform_count_unit;

/* Writes a NUL-terminated string (no newline added). */
void platform_print(const char *text);
/* A monotonic counter: guest instructions on the simulated board, nanoseconds on the host. */
uint64_t platform_count(void);
/* Heap calls (malloc, calloc, realloc) so far: counted on the host, 0 where no heap exists. */
uint64_t platform_heap_calls(void);
/* `bytes` of writable, 16-byte aligned memory outside the firmware's RAM budget (test use only),
 * or NULL. */
void *platform_scratch(uint32_t bytes);
/* Ends the program with `status` (0 success). */
void platform_exit(int status) __attribute__((noreturn));

/* The firmware's entry point, called by each platform with its command-line mode (or ""). */
int firmware_main(const char *mode);

#endif
