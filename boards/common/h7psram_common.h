// What both reworked boards share: STM32H7A3VIT6 (LQFP100, no SMPS), a 25 MHz
// crystal, the REPL on USART1 and on USB CDC, the internal-flash filesystem
// and the OCTOSPI1 PSRAM that carries the GC heap. Included by each board's
// mpconfigboard.h; numbers that the devicetree also states are checked
// against it by tests/build.

#include "h7psram_build_config.h"   // generated per build directory (heap mode)
#include "psram_board.h"            // generated from the devicetree (clocks, PSRAM facts)

#define MICROPY_HW_ENABLE_RTC               (1)
#define MICROPY_HW_ENABLE_RNG               (0)   // as NUCLEO_H7A3ZI_Q: RNG clock not set up for H7A3
#define MICROPY_HW_ENABLE_ADC               (1)
#define MICROPY_HW_ENABLE_DAC               (1)
#define MICROPY_HW_ENABLE_USB               (1)
#define MICROPY_HW_HAS_FLASH                (1)
#define MICROPY_HW_ENABLE_SERVO             (0)
#define MICROPY_HW_ENABLE_INTERNAL_FLASH_STORAGE (1)

// Clocks from the devicetree (pll1): 25 MHz / 5 * 112 = 560 MHz VCO, / 2 =
// 280 MHz SYSCLK, the H7A3's rated maximum; AHB and APBs use MicroPython's H7
// defaults (/2). PLL1 Q and R stay at the reworked boards' 40 MHz.
#define MICROPY_HW_CLK_PLLM                 (BOARD_PLL1_M)
#define MICROPY_HW_CLK_PLLN                 (BOARD_PLL1_N)
#define MICROPY_HW_CLK_PLLP                 (BOARD_PLL1_P)
#define MICROPY_HW_CLK_PLLQ                 (BOARD_PLL1_Q)
#define MICROPY_HW_CLK_PLLR                 (BOARD_PLL1_R)
#define MICROPY_HW_CLK_PLLVCI               (RCC_PLL1VCIRANGE_2)    // 4..8 MHz reference
#define MICROPY_HW_CLK_PLLVCO               (RCC_PLL1VCOWIDE)
#define MICROPY_HW_CLK_PLLFRAC              (0)

// USB's 48 MHz from PLL3 (dts pll3): 25 MHz / 5 * 48 = 240 MHz VCO, / 5.
#define MICROPY_HW_CLK_PLL3M                (BOARD_PLL3_M)
#define MICROPY_HW_CLK_PLL3N                (BOARD_PLL3_N)
#define MICROPY_HW_CLK_PLL3P                (BOARD_PLL3_P)
#define MICROPY_HW_CLK_PLL3Q                (BOARD_PLL3_Q)
#define MICROPY_HW_CLK_PLL3R                (BOARD_PLL3_R)
#define MICROPY_HW_CLK_PLL3VCI              (RCC_PLL3VCIRANGE_2)
#define MICROPY_HW_CLK_PLL3VCO              (RCC_PLL3VCOWIDE)
#define MICROPY_HW_CLK_PLL3FRAC             (0)

// 280 MHz needs 6 wait states at VOS0 (ST's H7A3 examples); MicroPython only
// selects VOS0 on silicon revisions it recognises, so one more for margin at
// VOS1, as on the boards this rework comes from.
#define MICROPY_HW_FLASH_LATENCY            FLASH_LATENCY_7

#define MICROPY_HW_RTC_USE_LSE              (1)

// MicroPython's pin object of a pin the devicetree names (BOARD_LED_NAME = A1 -> pin_A1).
#define H7PSRAM_PASTE_(a, b)                a##b
#define H7PSRAM_PASTE(a, b)                 H7PSRAM_PASTE_(a, b)
#define H7PSRAM_PIN(name)                   (H7PSRAM_PASTE(pin_, name))

// REPL on the devicetree's UART (chosen h7psram,repl-uart: USART1 PA9/PA10) and on USB CDC.
// The UART's number is part of MicroPython's macro names, which the preprocessor cannot build.
#if BOARD_REPL_UART_NUMBER == 1
#define MICROPY_HW_UART1_TX                 H7PSRAM_PIN(BOARD_REPL_UART_TX_NAME)
#define MICROPY_HW_UART1_RX                 H7PSRAM_PIN(BOARD_REPL_UART_RX_NAME)
#else
#error "h7psram_common.h: add the MICROPY_HW_UARTn_TX/RX lines for the devicetree's REPL UART"
#endif
#define MICROPY_HW_UART_REPL                H7PSRAM_PASTE(PYB_UART_, BOARD_REPL_UART_NUMBER)
#define MICROPY_HW_UART_REPL_BAUD           BOARD_REPL_BAUDRATE

// User LED and key from the devicetree (/leds/led-user, /keys/key-user).
#define MICROPY_HW_LED1                     H7PSRAM_PIN(BOARD_LED_NAME)
#if BOARD_LED_ACTIVE_HIGH
#define MICROPY_HW_LED_ON(pin)              (mp_hal_pin_high(pin))
#define MICROPY_HW_LED_OFF(pin)             (mp_hal_pin_low(pin))
#else
#define MICROPY_HW_LED_ON(pin)              (mp_hal_pin_low(pin))
#define MICROPY_HW_LED_OFF(pin)             (mp_hal_pin_high(pin))
#endif
#define MICROPY_HW_HAS_SWITCH               (1)
#define MICROPY_HW_USRSW_PIN                H7PSRAM_PIN(BOARD_KEY_NAME)
#if BOARD_KEY_PULL == 1
#define MICROPY_HW_USRSW_PULL               (GPIO_PULLUP)
#elif BOARD_KEY_PULL == 2
#define MICROPY_HW_USRSW_PULL               (GPIO_PULLDOWN)
#else
#define MICROPY_HW_USRSW_PULL               (GPIO_NOPULL)
#endif
#if BOARD_KEY_ACTIVE_HIGH
#define MICROPY_HW_USRSW_EXTI_MODE          (GPIO_MODE_IT_RISING)
#define MICROPY_HW_USRSW_PRESSED            (1)
#else
#define MICROPY_HW_USRSW_EXTI_MODE          (GPIO_MODE_IT_FALLING)
#define MICROPY_HW_USRSW_PRESSED            (0)
#endif

// USB: the OTG_HS core with its internal full-speed PHY on PA11/PA12; no
// VBUS sensing pin on either board.
#define MICROPY_HW_USB_HS                   (1)
#define MICROPY_HW_USB_HS_IN_FS             (1)
#define MICROPY_HW_USB_MSC                  (0)

// GC mark stack entries hold block indices within one heap area. The stm32
// port only widens them to 32 bits for boards that set MICROPY_HW_SDRAM_SIZE;
// our heap is in PSRAM, so without this they would be 16-bit and every block
// beyond 65536 x 16 bytes = 1 MiB into an area would be pushed truncated and
// its subtree left unmarked (live objects freed by gc.collect()). Both heap
// modes need it: the PSRAM area alone is 8 MiB = 524288 blocks.
// memcheck's gc-stack rule checks the built ELF for it (docs/gc.md).
#define MICROPY_GC_STACK_ENTRY_TYPE         uint32_t

// weakref.ref/weakref.finalize (v1.28.0 only enables the module at the EVERYTHING
// ROM level; the port is at EXTRA_FEATURES). It costs one bit per GC block for
// the weak-reference table (about 64 KiB of the 8 MiB PSRAM area) and a few KiB
// of flash; the GC suite tests it (docs/gc.md).
#define MICROPY_PY_WEAKREF                  (1)

// GC heap. Split (default): internal AXI SRAM from the linker script's
// _heap_start/_heap_end, plus the PSRAM as a second area through the
// _gc_blocks_table_start/_end table. Single: the heap is the PSRAM window
// alone (falls back to internal RAM when the PSRAM fails at boot).
#if H7PSRAM_HEAP_SPLIT
#define MICROPY_GC_SPLIT_HEAP               (1)
#else
#define MICROPY_HEAP_START                  (h7psram_gc_heap_base())
#define MICROPY_HEAP_END                    (h7psram_gc_heap_limit())
#endif

// Hooks: bring the PSRAM up once clocks run, report it once the REPL UART is up.
#define MICROPY_BOARD_EARLY_INIT            h7psram_board_early_init
#define MICROPY_BOARD_BEFORE_SOFT_RESET_LOOP h7psram_board_before_soft_reset_loop

#ifndef __ASSEMBLER__
struct _boardctrl_state_t;
void h7psram_board_early_init(void);
void h7psram_board_before_soft_reset_loop(struct _boardctrl_state_t *state);
void *h7psram_gc_heap_base(void);
void *h7psram_gc_heap_limit(void);
#endif

// mboot (built with H7PSRAM_MBOOT=1; docs/mboot.md). It reads this header
// too: USB DFU on the same OTG_HS core in FS mode and the LED and key above
// come from the macros already defined; it adds loading a .dfu(.gz) from the
// FAT filesystem in the internal flash (fwupdate.update_mpy).
#if BUILDING_MBOOT
#define MBOOT_FSLOAD                        (1)
#define MBOOT_VFS_FAT                       (1)
#endif

// Where mboot jumps (APPLICATION_ADDR) and where MicroPython puts its vector
// table (MICROPY_HW_VTOR) both come from make's TEXT0_ADDR; a value other than
// the generated layout's would leave mboot in DFU mode with a valid firmware
// in flash, so a mismatch stops the compile instead.
#ifdef H7PSRAM_MBOOT_APP_ADDR
#if BUILDING_MBOOT && APPLICATION_ADDR != H7PSRAM_MBOOT_APP_ADDR
#error "mboot: APPLICATION_ADDR differs from the layout's H7PSRAM_MBOOT_APP_ADDR (TEXT0_ADDR overridden?)"
#elif !BUILDING_MBOOT && defined(MICROPY_HW_VTOR) && MICROPY_HW_VTOR != H7PSRAM_MBOOT_APP_ADDR
#error "MICROPY_HW_VTOR differs from the layout's H7PSRAM_MBOOT_APP_ADDR (TEXT0_ADDR overridden?)"
#endif
#endif
