/* Minimal Cortex-M7 start-up for the simulator test images. */
#include "fw.h"

extern uint32_t _estack, _sidata, _sdata, _edata, _sbss, _ebss;
int main(void);

void Default_Handler(void) { for (;;) {} }
void Reset_Handler(void);
#define WEAK __attribute__((weak, alias("Default_Handler")))
void NMI_Handler(void) WEAK;
void HardFault_Handler(void) WEAK;
void MemManage_Handler(void) WEAK;
void BusFault_Handler(void) WEAK;
void UsageFault_Handler(void) WEAK;
void SVC_Handler(void) WEAK;
void PendSV_Handler(void) WEAK;
void SysTick_Handler(void) WEAK;
void IRQ50_Handler(void) WEAK;
void IRQ51_Handler(void) WEAK;
void IRQ52_Handler(void) WEAK;
void FLASH_IRQHandler(void) WEAK;
void USART1_IRQHandler(void) WEAK;

typedef void (*vector_t)(void);
__attribute__((section(".isr_vector"), used)) const vector_t vectors[16 + 160] = {
    (vector_t)&_estack, Reset_Handler, NMI_Handler, HardFault_Handler, MemManage_Handler,
    BusFault_Handler, UsageFault_Handler, 0, 0, 0, 0, SVC_Handler, 0, 0, PendSV_Handler,
    SysTick_Handler,
    [16 + 4] = FLASH_IRQHandler,
    [16 + 37] = USART1_IRQHandler,
    [16 + 50] = IRQ50_Handler, [16 + 51] = IRQ51_Handler, [16 + 52] = IRQ52_Handler,
};

void Reset_Handler(void) {
    uint32_t *src = &_sidata, *dst = &_sdata;
    while (dst < &_edata) *dst++ = *src++;
    for (dst = &_sbss; dst < &_ebss; ) *dst++ = 0;
    REG(0xE000ED88) |= 0xFu << 20;   /* CPACR: CP10/CP11 full access */
    dsb_isb();
    main();
    for (;;) { __asm volatile("wfi"); }
}

/* console on USART1, polled */
void uart_init(void) { USART_CR1(USART1_BASE) = (1u << 0) | (1u << 2) | (1u << 3); }
void putch(char c) {
    while (!(USART_ISR(USART1_BASE) & (1u << 7))) {}
    USART_TDR(USART1_BASE) = (uint8_t)c;
}
void puts_(const char *s) { while (*s) putch(*s++); }
void puthex(uint32_t v) {
    for (int i = 28; i >= 0; i -= 4) putch("0123456789abcdef"[(v >> i) & 0xF]);
}
void putdec(uint32_t v) {
    char buf[12];
    int n = 0;
    do { buf[n++] = (char)('0' + v % 10); v /= 10; } while (v);
    while (n) putch(buf[--n]);
}
int getch_nowait(void) {
    if (USART_ISR(USART1_BASE) & (1u << 5)) return (int)(USART_RDR(USART1_BASE) & 0xFF);
    return -1;
}
