/* Interrupt-driven receive on USART1 (RXNEIE, IRQ 37): lines are echoed reversed. */
#include "fw.h"

static volatile char line[64];
static volatile uint32_t len, ready, irqs;

void USART1_IRQHandler(void) {
    irqs++;
    while (USART_ISR(USART1_BASE) & (1u << 5)) {
        char c = (char)USART_RDR(USART1_BASE);
        if (c == '\r') ready = 1;
        else if (len < sizeof line) line[len++] = c;
    }
}

int main(void) {
    uart_init();
    USART_CR1(USART1_BASE) |= 1u << 5;                /* RXNEIE */
    NVIC_ISER(1) = 1u << (37 - 32);
    puts_("ready\r\n");
    for (;;) {
        while (!ready) __asm volatile("wfi");
        for (uint32_t i = len; i > 0; i--) putch(line[i - 1]);
        puts_(" irqs=");
        putdec(irqs);
        puts_("\r\n");
        if (len == 4 && line[0] == 'q') break;
        len = 0;
        ready = 0;
    }
    return 0;
}
