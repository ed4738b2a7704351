// mcudev DEVEBOX STM32H7XX, reworked: STM32H7A3VIT6 in place of the H750 and an
// 8 MiB QSPI PSRAM in place of the W25Q64 flash (facts: dts/devebox_h7a3.dts).
// Macros only; the PSRAM bring-up, heap set-up and the psram module live in
// boards/common and are shared with the WeAct board.

#define MICROPY_HW_BOARD_NAME               "DEVEBOX STM32H7XX"
#define MICROPY_HW_MCU_NAME                 "STM32H7A3"

#include "h7psram_common.h"

// User LED D2 on PA1 (lit when low) and key K1 on PE3 (pulls low): from the
// devicetree, through h7psram_common.h.

// UARTs brought out on the headers besides the REPL UART.
#define MICROPY_HW_UART2_TX                 (pin_A2)
#define MICROPY_HW_UART2_RX                 (pin_A3)
#define MICROPY_HW_UART7_TX                 (pin_E8)
#define MICROPY_HW_UART7_RX                 (pin_E7)

// SPI2 on the TFT connector (SCL PB13, SDO PB14, SDI PB15, CS PB12): machine.SPI(2).
#define MICROPY_HW_SPI2_NSS                 (pin_B12)
#define MICROPY_HW_SPI2_SCK                 (pin_B13)
#define MICROPY_HW_SPI2_MISO                (pin_B14)
#define MICROPY_HW_SPI2_MOSI                (pin_B15)

// TF card on SDMMC1; the socket has no card-detect switch wired, so no
// MICROPY_HW_SDCARD_DETECT_PIN and no mount at boot.
#define MICROPY_HW_ENABLE_SDCARD            (1)
#define MICROPY_HW_SDCARD_MOUNT_AT_BOOT     (0)
