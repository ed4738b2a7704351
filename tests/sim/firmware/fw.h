/* Shared definitions of the simulator test images: register addresses
 * (STM32H7A3 / Cortex-M7, as listed in the simulator's models) and a tiny
 * polled console on USART1. */
#ifndef FW_H
#define FW_H
#include <stdint.h>

#define REG(a) (*(volatile uint32_t *)(a))
#define REG8(a) (*(volatile uint8_t *)(a))

#define USART1_BASE 0x40011000u
#define USART_CR1(b) REG((b) + 0x00)
#define USART_ISR(b) REG((b) + 0x1C)
#define USART_RDR(b) REG((b) + 0x24)
#define USART_TDR(b) REG((b) + 0x28)

#define SYST_CSR REG(0xE000E010)
#define SYST_RVR REG(0xE000E014)
#define SYST_CVR REG(0xE000E018)
#define NVIC_ISER(n) REG(0xE000E100 + 4 * (n))
#define NVIC_ISPR(n) REG(0xE000E200 + 4 * (n))
#define NVIC_IPR(n) REG8(0xE000E400 + (n))
#define NVIC_STIR REG(0xE000EF00)
#define SCB_ICSR REG(0xE000ED04)
#define SCB_VTOR REG(0xE000ED08)
#define SCB_AIRCR REG(0xE000ED0C)
#define SCB_SHPR(n) REG8(0xE000ED18 + (n) - 4)
#define SCB_SHCSR REG(0xE000ED24)
#define SCB_CFSR REG(0xE000ED28)
#define SCB_HFSR REG(0xE000ED2C)
#define SCB_BFAR REG(0xE000ED38)

void uart_init(void);
void putch(char c);
void puts_(const char *s);
void puthex(uint32_t v);
void putdec(uint32_t v);
int getch_nowait(void);

static inline void dsb_isb(void) { __asm volatile("dsb\n isb" ::: "memory"); }
#endif
