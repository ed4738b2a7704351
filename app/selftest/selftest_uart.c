/*
 * USART (STM32H7 USART v3 layout) in polled mode, FIFO off.  Only the REPL
 * UART named by psram_board.h is used.
 */
#include "selftest_uart.h"
#include "psram_board.h"
#include "psram_regs.h"

#define UART_CR1 (BOARD_REPL_UART_BASE + 0x00u)
#define UART_BRR (BOARD_REPL_UART_BASE + 0x0Cu)
#define UART_ISR (BOARD_REPL_UART_BASE + 0x1Cu)
#define UART_TDR (BOARD_REPL_UART_BASE + 0x28u)
#define UART_CR1_UE (1u << 0)
#define UART_CR1_RE (1u << 2)
#define UART_CR1_TE (1u << 3)
#define UART_ISR_TC (1u << 6)
#define UART_ISR_TXE (1u << 7)

/* Clock gate of the REPL UART, by its number (RCC enable registers at their
 * 0x130+ offsets; bits from the CMSIS RCC_APBxENR definitions). */
#if BOARD_REPL_UART_NUMBER == 1 /* USART1 on APB2 */
#define UART_RCC_ENR (BOARD_RCC_BASE + 0x150u)
#define UART_RCC_BIT (1u << 4)
#elif BOARD_REPL_UART_NUMBER == 2 /* USART2 on APB1L */
#define UART_RCC_ENR (BOARD_RCC_BASE + 0x148u)
#define UART_RCC_BIT (1u << 17)
#elif BOARD_REPL_UART_NUMBER == 3 /* USART3 on APB1L */
#define UART_RCC_ENR (BOARD_RCC_BASE + 0x148u)
#define UART_RCC_BIT (1u << 18)
#elif BOARD_REPL_UART_NUMBER == 7 /* UART7 on APB1L */
#define UART_RCC_ENR (BOARD_RCC_BASE + 0x148u)
#define UART_RCC_BIT (1u << 30)
#else
#error "selftest_uart.c: no clock gate known for BOARD_REPL_UART_NUMBER"
#endif

/* A character at 115200 baud takes ~87 us; this many status polls is far
 * longer, so a dead UART costs time but never hangs the self-test. */
#define UART_POLL_LIMIT 200000u

static int uart_ready;

static void uart_pin(uint32_t port, uint32_t pin, uint32_t af) {
    uint32_t base = BOARD_GPIO_BASE(port);
    uint32_t afr = base + (pin < 8u ? PSRAM_GPIO_AFRL : PSRAM_GPIO_AFRH);
    uint32_t shift4 = (pin & 7u) * 4u, shift2 = pin * 2u;
    PSRAM_REG32(PSRAM_RCC_AHB4ENR) |= 1u << port;
    (void)PSRAM_REG32(PSRAM_RCC_AHB4ENR);
    PSRAM_REG32(afr) = (PSRAM_REG32(afr) & ~(0xFu << shift4)) | (af << shift4);
    PSRAM_REG32(base + PSRAM_GPIO_MODER) =
        (PSRAM_REG32(base + PSRAM_GPIO_MODER) & ~(3u << shift2)) | (PSRAM_GPIO_MODE_AF << shift2);
}

void selftest_uart_init(uint32_t kernel_hz, uint32_t baud) {
    PSRAM_REG32(UART_RCC_ENR) |= UART_RCC_BIT;
    (void)PSRAM_REG32(UART_RCC_ENR);
    uart_pin(BOARD_REPL_UART_TX_PORT, BOARD_REPL_UART_TX_PIN, BOARD_REPL_UART_TX_AF);
    uart_pin(BOARD_REPL_UART_RX_PORT, BOARD_REPL_UART_RX_PIN, BOARD_REPL_UART_RX_AF);
    PSRAM_REG32(UART_CR1) = 0u;
    /* oversampling by 16: BRR = kernel / baud, rounded to nearest */
    PSRAM_REG32(UART_BRR) = (kernel_hz + baud / 2u) / baud;
    PSRAM_REG32(UART_CR1) = UART_CR1_UE | UART_CR1_TE | UART_CR1_RE;
    uart_ready = 1;
}

void selftest_uart_putc(char c) {
    if (!uart_ready) {
        return;
    }
    for (uint32_t i = 0; i < UART_POLL_LIMIT; i++) {
        if (PSRAM_REG32(UART_ISR) & UART_ISR_TXE) {
            break;
        }
    }
    PSRAM_REG32(UART_TDR) = (uint8_t)c;
}

void selftest_uart_puts(const char *s) {
    while (*s) {
        selftest_uart_putc(*s++);
    }
}

void selftest_uart_hex(uint32_t value, unsigned digits) {
    static const char hex[] = "0123456789abcdef";
    for (unsigned i = digits; i > 0u; i--) {
        selftest_uart_putc(hex[(value >> ((i - 1u) * 4u)) & 0xFu]);
    }
}

void selftest_uart_dec(uint32_t value) {
    char buf[10];
    unsigned n = 0;
    do {
        buf[n++] = (char)('0' + value % 10u);
        value /= 10u;
    } while (value != 0u);
    while (n > 0u) {
        selftest_uart_putc(buf[--n]);
    }
}

void selftest_uart_flush(void) {
    if (!uart_ready) {
        return;
    }
    for (uint32_t i = 0; i < UART_POLL_LIMIT; i++) {
        if (PSRAM_REG32(UART_ISR) & UART_ISR_TC) {
            return;
        }
    }
}
