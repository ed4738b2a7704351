/* Flash controller: unlock bank 2, erase one sector (EOP interrupt), program a flash word. */
#include "fw.h"

#define FLASH_R 0x52002000u
#define KEYR2 REG(FLASH_R + 0x104)
#define CR2 REG(FLASH_R + 0x10C)
#define SR2 REG(FLASH_R + 0x110)
#define CCR2 REG(FLASH_R + 0x114)
#define SECTOR 5u
#define ADDR (0x08100000u + SECTOR * 0x2000u)

static volatile uint32_t flash_irqs;
void FLASH_IRQHandler(void) { flash_irqs++; CCR2 = 1u << 16; }

int main(void) {
    uart_init();
    uint32_t locked = CR2 & 1;
    KEYR2 = 0x45670123;
    KEYR2 = 0xCDEF89AB;
    uint32_t unlocked = !(CR2 & 1);
    NVIC_ISER(0) = 1u << 4;
    CR2 = (1u << 16) | (1u << 2) | (SECTOR << 6);          /* EOPIE, SER, SSN */
    CR2 |= 1u << 5;                                        /* START */
    while (SR2 & ((1u << 0) | (1u << 2))) {}                /* BSY, QW */
    dsb_isb();
    for (volatile int i = 0; i < 1000; i++) {}
    uint32_t erased = REG(ADDR + 0x100);
    CR2 = 1u << 1;                                         /* PG */
    for (int i = 0; i < 4; i++) REG(ADDR + 4 * i) = 0xC0DE0000u + i;
    while (SR2 & ((1u << 0) | (1u << 2))) {}
    CR2 = 1u;                                              /* lock */
    puts_("flash locked=");
    putdec(locked);
    puts_(" unlocked=");
    putdec(unlocked);
    puts_(" erased=");
    puthex(erased);
    puts_(" word=");
    puthex(REG(ADDR + 4));
    puts_(" irqs=");
    putdec(flash_irqs);
    puts_(" relocked=");
    putdec(CR2 & 1);
    puts_("\r\n");
    return 0;
}
