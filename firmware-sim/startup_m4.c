/*
 * Minimal Cortex-M startup: the vector table, and a reset handler that copies .data from flash,
 * zeroes .bss and calls platform_start. Faults print a line and exit with status 3.
 */
#include <stdint.h>
#include "platform.h"

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _stack_top;
void platform_start(void);
void SysTick_Handler(void);

void Reset_Handler(void) {
    uint32_t *src = &_sidata, *dst = &_sdata;
    while (dst < &_edata) *dst++ = *src++;
    for (dst = &_sbss; dst < &_ebss; dst++) *dst = 0;
    platform_start();
}

static void Fault_Handler(void) {
    platform_print("fault: hard fault or unexpected exception\n");
    platform_exit(3);
}

__attribute__((section(".vectors"), used))
const void *const vector_table[16] = {
    &_stack_top,            /* initial stack pointer */
    Reset_Handler,
    Fault_Handler,          /* NMI */
    Fault_Handler,          /* HardFault */
    Fault_Handler,          /* MemManage */
    Fault_Handler,          /* BusFault */
    Fault_Handler,          /* UsageFault */
    0, 0, 0, 0,
    Fault_Handler,          /* SVCall */
    Fault_Handler,          /* DebugMonitor */
    0,
    Fault_Handler,          /* PendSV */
    SysTick_Handler,
};
