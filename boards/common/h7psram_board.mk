# Shared make fragment of the reworked H7A3 boards, included by each board's
# mpconfigboard.mk (MicroPython's ports/stm32 Makefile reads it with BOARD_DIR=).
#
# `west build` passes H7PSRAM_GEN_DIR (linker script and headers generated from
# the devicetree into the build directory) and H7PSRAM_HEAP. A plain
#   make -C ports/stm32 BOARD_DIR=<repo>/boards/<board> STM32LIB_DIR=... <targets>
# also works: the files are then generated into $(BUILD)/h7psram on every run
# (rewritten only when their contents change).

H7PSRAM_REPO ?= $(abspath $(BOARD_DIR)/../..)
H7PSRAM_HEAP ?= split
H7PSRAM_PYTHON ?= python3
H7PSRAM_BOARD := $(notdir $(abspath $(BOARD_DIR)))
H7PSRAM_MBOOT ?= 0

ifeq ($(H7PSRAM_GEN_DIR),)
H7PSRAM_GEN_DIR := $(abspath $(BUILD))/h7psram
H7PSRAM_GEN_RC := $(shell PYTHONPATH=$(H7PSRAM_REPO)/scripts $(H7PSRAM_PYTHON) -m h7psram.build \
	generate --board $(H7PSRAM_BOARD) --heap $(H7PSRAM_HEAP) --gen-dir $(H7PSRAM_GEN_DIR) \
	$(if $(filter 1,$(H7PSRAM_MBOOT)),--mboot) >&2; echo $$?)
ifneq ($(H7PSRAM_GEN_RC),0)
$(error generating the devicetree files for $(H7PSRAM_BOARD) failed)
endif
endif

H7PSRAM_COMMON_DIR := $(H7PSRAM_REPO)/boards/common
H7PSRAM_DRIVER_DIR := $(H7PSRAM_REPO)/drivers/psram

# The whole linker script (memory map, sections, heap and stack symbols, the
# split-heap table) is generated from the devicetree.
LD_FILES = $(H7PSRAM_GEN_DIR)/h7psram_board.ld

# H7PSRAM_MBOOT=1: MicroPython's mboot owns the first flash sectors and the
# application starts at the first sector after them. h7psram.mboot holds the
# numbers and the build generates TEXT0_ADDR from them: MicroPython's VTOR and
# mboot's jump target (its Makefile reads TEXT0_ADDR as APPLICATION_ADDR) must be
# the address the application is linked at, or mboot finds no valid stack
# pointer there and stays in DFU mode.
# Without mboot the application starts at the flash base (H7PSRAM_FLASH_BASE, from
# the devicetree's flash0 node).
include $(H7PSRAM_GEN_DIR)/h7psram_flash.mk
ifeq ($(H7PSRAM_MBOOT),1)
include $(H7PSRAM_GEN_DIR)/h7psram_mboot.mk
MBOOT_TEXT0_ADDR = $(H7PSRAM_FLASH_BASE)
MBOOT_LD_FILES = $(H7PSRAM_GEN_DIR)/h7psram_mboot.ld stm32_sections.ld
else
TEXT0_ADDR = $(H7PSRAM_FLASH_BASE)
endif

CFLAGS += -I$(H7PSRAM_GEN_DIR) -I$(H7PSRAM_COMMON_DIR) -I$(H7PSRAM_DRIVER_DIR)

# The port re-extracts qstrs and root pointers from every source only when one of these
# headers changes; our common header enables modules (weakref registers a root pointer),
# so without this an incremental build after such a change fails in py/runtime.c.
QSTR_GLOBAL_DEPENDENCIES += $(H7PSRAM_COMMON_DIR)/h7psram_common.h $(H7PSRAM_GEN_DIR)/h7psram_build_config.h

# mboot reads this fragment too (BUILDING_MBOOT=1); it needs none of the
# PSRAM code, only the board header and the layout above.
ifneq ($(BUILDING_MBOOT),1)
SRC_C += \
	$(H7PSRAM_DRIVER_DIR)/psram.c \
	$(H7PSRAM_DRIVER_DIR)/psram_bandwidth.c \
	$(H7PSRAM_DRIVER_DIR)/psram_timing.c \
	$(H7PSRAM_DRIVER_DIR)/psram_memtest.c \
	$(H7PSRAM_COMMON_DIR)/h7psram_boot.c \
	$(H7PSRAM_COMMON_DIR)/modpsram.c

# A changed linker script must relink, but MicroPython's link rule passes all
# of its prerequisites to the linker as objects; so make one small object of
# ours depend on the script instead (the path spelled as the port builds it).
# This fragment is read before the port's own rules: keep `all` the default.
.DEFAULT_GOAL := all
$(BUILD)/$(H7PSRAM_COMMON_DIR)/h7psram_boot.o: $(H7PSRAM_GEN_DIR)/h7psram_board.ld
endif
