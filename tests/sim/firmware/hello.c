/* Greets on USART1 (after the WFE/YIELD/SEV hints, which must not fault), then echoes each
 * received byte in upper case until '!' */
#include "fw.h"

int main(void) {
    uart_init();
    __asm volatile("sev\n wfe\n yield\n wfe");
    puts_("hello from usart1\r\n");
    for (;;) {
        int c = getch_nowait();
        if (c < 0) continue;
        if (c >= 'a' && c <= 'z') c -= 32;
        putch((char)c);
        if (c == '!') break;
    }
    puts_("\r\nbye\r\n");
    return 0;
}
