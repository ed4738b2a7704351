// HAL configuration of every board here (found through h7psram_board.mk's
// -I of this folder, as no board folder has its own). HSE_VALUE must be a plain
// decimal number: MicroPython's pllvalues.py reads it back from the preprocessed
// sources. tests/build checks it against each board's crystal in the devicetree
// (BOARD_HSE_HZ); a board with another crystal gets its own file in its folder,
// which -I$(BOARD_DIR) finds first.
#ifndef MICROPY_INCLUDED_STM32H7XX_HAL_CONF_H
#define MICROPY_INCLUDED_STM32H7XX_HAL_CONF_H

#define HSE_VALUE (25000000)
#define LSE_VALUE (32768)
#define EXTERNAL_CLOCK_VALUE (12288000)

#define HSE_STARTUP_TIMEOUT (5000)
#define LSE_STARTUP_TIMEOUT (5000)

#include "boards/stm32h7xx_hal_conf_base.h"

#endif // MICROPY_INCLUDED_STM32H7XX_HAL_CONF_H
