# STM32H7A3VIT6 (LQFP100, no SMPS). Linker script, PSRAM driver and the psram
# module come from boards/common/h7psram_board.mk.
MCU_SERIES = h7
CMSIS_MCU = STM32H7A3xx
MICROPY_FLOAT_IMPL = double
AF_FILE = boards/stm32h7b3_af.csv

include $(BOARD_DIR)/../common/h7psram_board.mk
