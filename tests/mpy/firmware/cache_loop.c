/* Cache maintenance by address, as CMSIS' SCB_CleanInvalidateDCache_by_Addr
 * does it, while SysTick interrupts at 10 kHz cut the loops short; then a
 * loop whose body also loads from memory (which the simulator must leave to
 * the model). Prints the tick count seen after each loop and a checksum. */
#include "fw.h"

#define SCB_DCCIMVAC REG(0xE000EF70)
#define SCB_DCIMVAC REG(0xE000EF5C)

static volatile uint32_t ticks;
static volatile uint32_t table[64];

void SysTick_Handler(void) { ticks++; }

static void __attribute__((noinline)) clean_invalidate(uint32_t addr, int32_t size) {
    if (size > 0) {
        int32_t op_size = size + (int32_t)(addr & 31u);
        uint32_t op_addr = addr;
        __asm volatile("dsb" ::: "memory");
        do {
            SCB_DCCIMVAC = op_addr;
            op_addr += 32u;
            op_size -= 32;
        } while (op_size > 0);
        __asm volatile("dsb\n isb" ::: "memory");
    }
}

/* not a pure loop: the line address comes from memory */
static void __attribute__((noinline)) invalidate_from_table(uint32_t rounds) {
    for (uint32_t r = 0; r < rounds; r++) {
        for (uint32_t i = 0; i < 64u; i++) {
            SCB_DCIMVAC = table[i];
        }
    }
}

int main(void) {
    uart_init();
    for (uint32_t i = 0; i < 64u; i++) {
        table[i] = 0x24000000u + 32u * i;
    }
    SYST_RVR = 28000 - 1;
    SYST_CVR = 0;
    SYST_CSR = 7;
    uint32_t sum = 0;
    for (uint32_t i = 0; i < 4u; i++) {
        clean_invalidate(0x90000000u + 4u * i, 1 << 20);
        sum = sum * 31u + ticks;
        puts_("loop ");
        putdec(i);
        puts_(" ticks ");
        putdec(ticks);
        puts_("\r\n");
    }
    invalidate_from_table(200);
    SYST_CSR = 0;
    puts_("cache loops done ticks=");
    putdec(ticks);
    puts_(" sum=");
    putdec(sum);
    puts_("\r\n");
    return 0;
}
