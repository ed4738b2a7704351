/* Workloads for bench/sim_speed.py: a CPU-bound CRC loop and an MMIO-bound register poll. */
#include "fw.h"

#ifndef MMIO_LOOP
__attribute__((noinline)) static uint32_t crc32(const uint8_t *p, uint32_t n, uint32_t crc) {
    crc = ~crc;
    while (n--) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1)));
    }
    return ~crc;
}
#endif

int main(void) {
    uart_init();
#ifdef MMIO_LOOP
    uint32_t acc = 0;
    for (uint32_t i = 0; i < 200000; i++) acc += USART_ISR(USART1_BASE);
    puts_("mmio done ");
    puthex(acc);
#else
    uint32_t crc = 0;
    for (int round = 0; round < 40; round++) crc = crc32((const uint8_t *)0x08000000, 16384, crc);
    puts_("crc done ");
    puthex(crc);
#endif
    puts_("\r\n");
    return 0;
}
