/* Greets on USART1, then echoes each received byte in upper case until '!' */
#include "fw.h"

int main(void) {
    uart_init();
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
