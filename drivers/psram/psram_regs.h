/*
 * Register map used by the PSRAM driver: OCTOSPI1, OCTOSPIM, the RCC/GPIO bits
 * it needs, and the Cortex-M7 MPU / cache-maintenance registers.
 *
 * Offsets and bit fields only: the peripheral bases (PSRAM_OCTOSPI_BASE,
 * PSRAM_OCTOSPIM_BASE, BOARD_RCC_BASE, BOARD_GPIO_BASE) come from psram_board.h,
 * which is generated from the devicetree; a file that uses a register address
 * includes it.  Sources of the values: docs/hardware.md (sections named below).
 * All names carry a PSRAM_ prefix so that this header can be included next to
 * the ST HAL / CMSIS headers inside MicroPython without redefining any of
 * their macros.
 */
#ifndef PSRAM_REGS_H
#define PSRAM_REGS_H

#include <stdint.h>

#define PSRAM_REG32(addr) (*(volatile uint32_t *)(uintptr_t)(addr))
#define PSRAM_REG8(addr) (*(volatile uint8_t *)(uintptr_t)(addr))

/* ---- OCTOSPI1 (hardware.md "OCTOSPI registers") ---------------------- */

#define PSRAM_OSPI_CR (PSRAM_OCTOSPI_BASE + 0x000u)
#define PSRAM_OSPI_DCR1 (PSRAM_OCTOSPI_BASE + 0x008u)
#define PSRAM_OSPI_DCR2 (PSRAM_OCTOSPI_BASE + 0x00Cu)
#define PSRAM_OSPI_DCR3 (PSRAM_OCTOSPI_BASE + 0x010u)
#define PSRAM_OSPI_DCR4 (PSRAM_OCTOSPI_BASE + 0x014u)
#define PSRAM_OSPI_SR (PSRAM_OCTOSPI_BASE + 0x020u)
#define PSRAM_OSPI_FCR (PSRAM_OCTOSPI_BASE + 0x024u)
#define PSRAM_OSPI_DLR (PSRAM_OCTOSPI_BASE + 0x040u)
#define PSRAM_OSPI_AR (PSRAM_OCTOSPI_BASE + 0x048u)
#define PSRAM_OSPI_DR (PSRAM_OCTOSPI_BASE + 0x050u)
#define PSRAM_OSPI_CCR (PSRAM_OCTOSPI_BASE + 0x100u)
#define PSRAM_OSPI_TCR (PSRAM_OCTOSPI_BASE + 0x108u)
#define PSRAM_OSPI_IR (PSRAM_OCTOSPI_BASE + 0x110u)
#define PSRAM_OSPI_ABR (PSRAM_OCTOSPI_BASE + 0x120u)
#define PSRAM_OSPI_LPTR (PSRAM_OCTOSPI_BASE + 0x130u)
#define PSRAM_OSPI_WPCCR (PSRAM_OCTOSPI_BASE + 0x140u)
#define PSRAM_OSPI_WCCR (PSRAM_OCTOSPI_BASE + 0x180u)
#define PSRAM_OSPI_WTCR (PSRAM_OCTOSPI_BASE + 0x188u)
#define PSRAM_OSPI_WIR (PSRAM_OCTOSPI_BASE + 0x190u)
#define PSRAM_OSPI_WABR (PSRAM_OCTOSPI_BASE + 0x1A0u)

/* CR */
#define PSRAM_OSPI_CR_EN (1u << 0)
#define PSRAM_OSPI_CR_ABORT (1u << 1)
#define PSRAM_OSPI_CR_TCEN (1u << 3)
#define PSRAM_OSPI_CR_FTHRES_POS 8u
#define PSRAM_OSPI_CR_FTHRES_MASK (0x1Fu << 8)
#define PSRAM_OSPI_CR_FMODE_POS 28u
#define PSRAM_OSPI_CR_FMODE_MASK (0x3u << 28)
#define PSRAM_OSPI_FMODE_INDIRECT_WRITE 0u
#define PSRAM_OSPI_FMODE_INDIRECT_READ 1u
#define PSRAM_OSPI_FMODE_AUTO_POLL 2u
#define PSRAM_OSPI_FMODE_MEMORY_MAPPED 3u

/* DCR1; CSHT is 3 bits on the H7A3 */
#define PSRAM_OSPI_DCR1_CKMODE (1u << 0)
#define PSRAM_OSPI_DCR1_FRCK (1u << 1)
#define PSRAM_OSPI_DCR1_DLYBYP (1u << 3)
#define PSRAM_OSPI_DCR1_CSHT_POS 8u
#define PSRAM_OSPI_DCR1_CSHT_MAX 7u
#define PSRAM_OSPI_DCR1_DEVSIZE_POS 16u
#define PSRAM_OSPI_DCR1_DEVSIZE_MAX 31u
#define PSRAM_OSPI_DCR1_MTYP_POS 24u
#define PSRAM_OSPI_MTYP_APMEMORY 2u

/* DCR2 */
#define PSRAM_OSPI_DCR2_PRESCALER_POS 0u
#define PSRAM_OSPI_DCR2_PRESCALER_MAX 255u

/* DCR3 */
#define PSRAM_OSPI_DCR3_CSBOUND_POS 16u
#define PSRAM_OSPI_DCR3_CSBOUND_MAX 31u

/* SR / FCR */
#define PSRAM_OSPI_SR_TEF (1u << 0)
#define PSRAM_OSPI_SR_TCF (1u << 1)
#define PSRAM_OSPI_SR_FTF (1u << 2)
#define PSRAM_OSPI_SR_TOF (1u << 4)
#define PSRAM_OSPI_SR_BUSY (1u << 5)
#define PSRAM_OSPI_SR_FLEVEL_POS 8u
#define PSRAM_OSPI_SR_FLEVEL_MASK (0x3Fu << 8)
#define PSRAM_OSPI_FCR_CTEF (1u << 0)
#define PSRAM_OSPI_FCR_CTCF (1u << 1)
#define PSRAM_OSPI_FCR_CSMF (1u << 3)
#define PSRAM_OSPI_FCR_CTOF (1u << 4)

/* CCR / WCCR layout */
#define PSRAM_OSPI_CCR_IMODE_POS 0u
#define PSRAM_OSPI_CCR_ISIZE_POS 4u
#define PSRAM_OSPI_CCR_ADMODE_POS 8u
#define PSRAM_OSPI_CCR_ADSIZE_POS 12u
#define PSRAM_OSPI_CCR_DMODE_POS 24u
#define PSRAM_OSPI_CCR_DQSE (1u << 29)
#define PSRAM_OSPI_LINES_NONE 0u
#define PSRAM_OSPI_LINES_1 1u
#define PSRAM_OSPI_LINES_4 3u
#define PSRAM_OSPI_SIZE_8BIT 0u
#define PSRAM_OSPI_SIZE_24BIT 2u

/* TCR */
#define PSRAM_OSPI_TCR_DCYC_POS 0u
#define PSRAM_OSPI_TCR_DCYC_MAX 31u
#define PSRAM_OSPI_TCR_SSHIFT (1u << 30)

/* ---- OCTOSPIM, the IO manager (hardware.md "OCTOSPIM") ------------- */
#define PSRAM_OSPIM_CR (PSRAM_OCTOSPIM_BASE + 0x00u)
#define PSRAM_OSPIM_P1CR (PSRAM_OCTOSPIM_BASE + 0x04u)
#define PSRAM_OSPIM_CR_MUXEN (1u << 0)
/* Port 1 fed by OCTOSPI1: CLKEN, DQSEN, NCSEN, IOLEN (IO[3:0] <- OCTOSPI1
 * IO[3:0]) and IOHEN/IOHSRC=01 (IO[7:4] <- OCTOSPI1 IO[7:4]).  This is the
 * reset value of P1CR, so writing it only undoes a foreign configuration. */
#define PSRAM_OSPIM_P1CR_OSPI1_ON_PORT1 0x03010111u

/* ---- RCC (hardware.md "Register blocks and clock gates") ------------
 * The H7A3 enable registers are the ones at 0x130+ (what the CMSIS struct
 * compiles to, confirmed by the MicroPython boot trace); the reset registers
 * have a single copy. */
#define PSRAM_RCC_AHB3RSTR (BOARD_RCC_BASE + 0x07Cu)
#define PSRAM_RCC_AHB3ENR (BOARD_RCC_BASE + 0x134u)
#define PSRAM_RCC_AHB4ENR (BOARD_RCC_BASE + 0x140u)
#define PSRAM_RCC_AHB3_OSPI1 (1u << 14)
#define PSRAM_RCC_AHB3_IOMNGR (1u << 21)

/* ---- GPIO ports: registers of port n at BOARD_GPIO_BASE(n) ----------- */
#define PSRAM_GPIO_MODER 0x00u
#define PSRAM_GPIO_OTYPER 0x04u
#define PSRAM_GPIO_OSPEEDR 0x08u
#define PSRAM_GPIO_PUPDR 0x0Cu
#define PSRAM_GPIO_AFRL 0x20u
#define PSRAM_GPIO_AFRH 0x24u
#define PSRAM_GPIO_MODE_AF 2u
#define PSRAM_GPIO_SPEED_VERY_HIGH 3u
#define PSRAM_GPIO_PULL_NONE 0u
#define PSRAM_GPIO_PULL_UP 1u

/* ---- Cortex-M7 system control space (hardware.md "Cortex-M7") ------ */
#define PSRAM_SCB_CCR 0xE000ED14u
#define PSRAM_SCB_CCR_DC (1u << 16)
#define PSRAM_SCB_CCSIDR 0xE000ED80u
#define PSRAM_SCB_CSSELR 0xE000ED84u
#define PSRAM_SCB_DCIMVAC 0xE000EF5Cu
#define PSRAM_SCB_DCCMVAC 0xE000EF68u
#define PSRAM_SCB_DCCIMVAC 0xE000EF70u
#define PSRAM_SCB_DCCISW 0xE000EF74u

/* Cycle counter for the bandwidth measurement (Armv7-M ARM C1.8: DEMCR.TRCENA
 * powers the DWT, DWT_CTRL.CYCCNTENA starts CYCCNT; the Cortex-M7 also needs
 * the CoreSight lock access register unlocked before DWT_CTRL takes writes). */
#define PSRAM_DEMCR 0xE000EDFCu
#define PSRAM_DEMCR_TRCENA (1u << 24)
#define PSRAM_DWT_CTRL 0xE0001000u
#define PSRAM_DWT_CTRL_CYCCNTENA (1u << 0)
#define PSRAM_DWT_CYCCNT 0xE0001004u
#define PSRAM_DWT_LAR 0xE0001FB0u
#define PSRAM_DWT_LAR_UNLOCK 0xC5ACCE55u

#define PSRAM_MPU_CTRL 0xE000ED94u
#define PSRAM_MPU_RNR 0xE000ED98u
#define PSRAM_MPU_RBAR 0xE000ED9Cu
#define PSRAM_MPU_RASR 0xE000EDA0u
#define PSRAM_MPU_CTRL_ENABLE (1u << 0)
#define PSRAM_MPU_CTRL_PRIVDEFENA (1u << 2)
#define PSRAM_MPU_RBAR_VALID (1u << 4)

#define PSRAM_MPU_RASR_ENABLE (1u << 0)
#define PSRAM_MPU_RASR_SIZE_POS 1u
#define PSRAM_MPU_RASR_SRD_POS 8u
#define PSRAM_MPU_RASR_B (1u << 16)
#define PSRAM_MPU_RASR_C (1u << 17)
#define PSRAM_MPU_RASR_S (1u << 18)
#define PSRAM_MPU_RASR_TEX_POS 19u
#define PSRAM_MPU_RASR_AP_POS 24u
#define PSRAM_MPU_RASR_XN (1u << 28)
#define PSRAM_MPU_AP_NO_ACCESS 0u
#define PSRAM_MPU_AP_FULL 3u

#endif /* PSRAM_REGS_H */
