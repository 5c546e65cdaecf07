/*
 * QEMU mps2-an386 (Cortex-M4) and mps2-an500 (Cortex-M7) platform: ARM semihosting for output,
 * the command line and the exit status, and SysTick as the instruction counter.
 *
 * Counting: QEMU runs with `-icount shift=0`, so every guest instruction advances virtual time
 * by exactly 1 ns, deterministically. SysTick is clocked from the 25 MHz system clock, so one
 * SysTick tick is RN_INSNS_PER_TICK = 40 instructions; the 24-bit counter's wraps are counted in
 * its interrupt to make a 64-bit count. Resolution 40 instructions; repeatable run to run.
 */
#include <stdint.h>
#include "platform.h"

#ifndef RN_INSNS_PER_TICK
#define RN_INSNS_PER_TICK 40
#endif
const char *platform_name = "Cortex-M (QEMU mps2)";
const char *const platform_count_unit = "instructions";

/* ---- semihosting ---------------------------------------------------------------------------- */

enum { SYS_WRITE0 = 0x04, SYS_GET_CMDLINE = 0x15, SYS_EXIT_EXTENDED = 0x20 };

static int semihost(int op, void *arg) {
    register int r0 __asm__("r0") = op;
    register void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void platform_print(const char *text) { semihost(SYS_WRITE0, (void *)text); }

void platform_exit(int status) {
    uint32_t block[2] = {0x20026 /* ADP_Stopped_ApplicationExit */, (uint32_t)status};
    semihost(SYS_EXIT_EXTENDED, block);
    for (;;) {}
}

uint64_t platform_heap_calls(void) { return 0; }

/* The boards' 16 MiB PSRAM: at 0x21000000 on AN386, at 0x60000000 on AN500 (QEMU's maps). */
static uintptr_t psram_base = 0x21000000;
void *platform_scratch(uint32_t bytes) { return bytes <= (16u << 20) ? (void *)psram_base : 0; }   /* no allocator is linked: a call would not link */

/* ---- SysTick -------------------------------------------------------------------------------- */

#define SYST_CSR (*(volatile uint32_t *)0xE000E010)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018)
#define SCB_ICSR (*(volatile uint32_t *)0xE000ED04)
#define ICSR_PENDSTSET (1u << 26)

static volatile uint32_t systick_wraps;

void SysTick_Handler(void) { systick_wraps++; }

uint64_t platform_count(void) {
    uint32_t wraps, value, pending;
    do {
        wraps = systick_wraps;
        value = SYST_CVR;
        pending = SCB_ICSR & ICSR_PENDSTSET;
    } while (wraps != systick_wraps);
    /* A wrap whose interrupt is still pending: the reload already happened. */
    if (pending && value > 0x800000) wraps++;
    uint64_t ticks = ((uint64_t)wraps << 24) + (0xFFFFFFu - value);
    return ticks * RN_INSNS_PER_TICK;
}

/* ---- entry ---------------------------------------------------------------------------------- */

/* Called by Reset_Handler after .data and .bss are set up. */
void platform_start(void) {
    uint32_t part = (*(volatile uint32_t *)0xE000ED00 >> 4) & 0xFFF;     /* CPUID.PartNo */
    if (part == 0xC24) platform_name = "Cortex-M4 (QEMU mps2-an386)";
    if (part == 0xC27) { platform_name = "Cortex-M7 (QEMU mps2-an500)"; psram_base = 0x60000000; }
    SYST_RVR = 0xFFFFFF;
    SYST_CVR = 0;
    SYST_CSR = 7;                          /* enable, interrupt, processor clock */
    /* Command line: "firmware.elf MODE" from -semihosting-config arg=...; the mode is word 2. */
    static char cmdline[128];
    struct { char *buffer; int length; } block = {cmdline, sizeof cmdline - 1};
    const char *mode = "";
    if (semihost(SYS_GET_CMDLINE, &block) == 0) {
        cmdline[block.length < (int)sizeof cmdline ? block.length : (int)sizeof cmdline - 1] = 0;
        for (char *p = cmdline; *p; p++) {
            if (*p == ' ') { *p = 0; mode = p + 1; break; }
        }
    }
    platform_exit(firmware_main(mode));
}
