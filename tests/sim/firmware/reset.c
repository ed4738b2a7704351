/* System reset through AIRCR.SYSRESETREQ: a boot counter in uninitialised RAM survives it, and
   so does one in the backup domain (TAMP BKP0R, 0x58004400 + 0x100). */
#include "fw.h"

__attribute__((section(".noinit"))) static uint32_t magic, boots;

int main(void) {
    uart_init();
    if (magic != 0x600D600Du) { magic = 0x600D600Du; boots = 0; }
    boots++;
    uint32_t rsr = REG(0x58024400 + 0x130);
    REG(0x58024400 + 0x130) = 1u << 16;      /* RMVF */
    uint32_t bkp = REG(0x58004400 + 0x100);
    REG(0x58004400 + 0x100) = bkp + 1;
    puts_("boot ");
    putdec(boots);
    puts_(" rsr=");
    puthex(rsr);
    puts_(" bkp0r=");
    puthex(bkp);
    puts_("\r\n");
    if (boots < 3) {
        SCB_AIRCR = 0x05FA0004u;
        dsb_isb();
        for (;;) {}
    }
    puts_("reset done\r\n");
    return 0;
}
