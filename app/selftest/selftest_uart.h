/* Polled transmit on the board's REPL UART, and the few number formats the
 * self-test prints. */
#ifndef SELFTEST_UART_H
#define SELFTEST_UART_H

#include <stdint.h>

void selftest_uart_init(uint32_t kernel_hz, uint32_t baud);
void selftest_uart_putc(char c);
void selftest_uart_puts(const char *s);
/* lower-case hex, exactly `digits` digits, no prefix */
void selftest_uart_hex(uint32_t value, unsigned digits);
void selftest_uart_dec(uint32_t value);
/* waits (bounded) until the last character has left the shifter */
void selftest_uart_flush(void);

#endif /* SELFTEST_UART_H */
