// WeAct MiniSTM32H7xx, reworked: STM32H7A3VIT6 in place of the H750 and an
// 8 MiB QSPI PSRAM on the QSPI-flash footprint (facts: dts/weact_mini_h7a3.dts).
// Macros only; the PSRAM bring-up, heap set-up and the psram module live in
// boards/common and are shared with the DEVEBOX board.

#define MICROPY_HW_BOARD_NAME               "WeAct MiniSTM32H7xx"
#define MICROPY_HW_MCU_NAME                 "STM32H7A3"

#include "h7psram_common.h"

// Blue LED on PE3 (lit when high) and key K1 on PC13 (pulls high): from the
// devicetree, through h7psram_common.h.

// UARTs brought out on the headers besides the REPL UART.
#define MICROPY_HW_UART2_TX                 (pin_A2)
#define MICROPY_HW_UART2_RX                 (pin_A3)
#define MICROPY_HW_UART3_TX                 (pin_B10)
#define MICROPY_HW_UART3_RX                 (pin_B11)
#define MICROPY_HW_UART7_TX                 (pin_E8)
#define MICROPY_HW_UART7_RX                 (pin_E7)

// SPI4 on the LCD connector (PE11 CS, PE12 SCK, PE13, PE14 MOSI), as MicroPython's own
// WeAct H743 board names it: machine.SPI(4).
#define MICROPY_HW_SPI4_NSS                 (pin_E11)
#define MICROPY_HW_SPI4_SCK                 (pin_E12)
#define MICROPY_HW_SPI4_MISO                (pin_E13)
#define MICROPY_HW_SPI4_MOSI                (pin_E14)

// TF card on SDMMC1; card detect on PD4 only when solder bridge SB2 is
// closed, so it is not used and the card is not mounted at boot.
#define MICROPY_HW_ENABLE_SDCARD            (1)
#define MICROPY_HW_SDCARD_MOUNT_AT_BOOT     (0)
