/* SVC with an immediate, PendSV pended from the SVC handler (tail-chained),
 * PendSV and an NVIC interrupt pended from thread mode (taken at once). */
#include "fw.h"

static volatile char order[16];
static volatile uint32_t n_order, svc_number, pendsv_count, irq52_count;

static void mark(char c) { order[n_order++] = c; }

void SVC_Handler_C(uint32_t *frame) {
    svc_number = ((uint8_t *)frame[6])[-2];     /* imm8 of the SVC instruction */
    mark('S');
    SCB_ICSR = 1u << 28;                          /* PENDSVSET */
}

__attribute__((naked)) void SVC_Handler(void) {
    __asm volatile("tst lr, #4\n ite eq\n mrseq r0, msp\n mrsne r0, psp\n b SVC_Handler_C");
}

void PendSV_Handler(void) { pendsv_count++; mark('P'); }
void IRQ52_Handler(void) { irq52_count++; mark('I'); }

int main(void) {
    uart_init();
    SCB_SHPR(14) = 0xF0;                          /* PendSV lowest */
    SCB_SHPR(11) = 0x00;
    __asm volatile("svc #5");
    mark('M');
    SCB_ICSR = 1u << 28;
    dsb_isb();
    uint32_t seen_pendsv = pendsv_count;          /* must already be 2 */
    NVIC_ISER(1) = 1u << (52 - 32);
    NVIC_STIR = 52;
    dsb_isb();
    uint32_t seen_irq = irq52_count;
    NVIC_ISPR(1) = 1u << (52 - 32);
    dsb_isb();
    uint32_t seen_irq2 = irq52_count;
    order[n_order] = 0;
    puts_("svc ");
    putdec(svc_number);
    puts_(" order ");
    puts_((const char *)order);
    puts_(" pendsv ");
    putdec(seen_pendsv);
    puts_(" irq ");
    putdec(seen_irq);
    putch(',');
    putdec(seen_irq2);
    puts_("\r\n");
    return 0;
}
