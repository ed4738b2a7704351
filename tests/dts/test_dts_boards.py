"""Both boards parse from the devicetree into the values the hardware has."""

import pytest

from h7psram.boards import known_boards, load_board
from h7psram.errors import InputError

BOARDS = ["devebox_h7a3", "weact_mini_h7a3"]


def test_known_boards_lists_both():
    assert known_boards() == BOARDS


@pytest.mark.parametrize("name", BOARDS)
def test_common_facts(name):
    board = load_board(name)
    assert board.name == name
    assert board.mcu == "STM32H7A3"
    assert board.hse_hz == 25_000_000
    assert board.sysclk_hz == 280_000_000
    assert board.hclk_hz == 140_000_000
    assert board.repl_uart == "USART1"
    assert board.repl_uart_base == 0x40011000
    assert board.repl_baudrate == 115200
    assert board.pins == {
        "OSPI_CLK": ("B", 2, 9), "OSPI_NCS": ("B", 6, 10),
        "OSPI_IO0": ("D", 11, 9), "OSPI_IO1": ("D", 12, 9),
        "OSPI_IO2": ("E", 2, 9), "OSPI_IO3": ("D", 13, 9),
        "REPL_TX": ("A", 9, 7), "REPL_RX": ("A", 10, 7),
    }
    assert {r.name: (r.start, r.size, r.kind) for r in board.regions} == {
        "itcm": (0x0, 0x10000, "itcm"),
        "flash0": (0x08000000, 0x200000, "flash"),
        "dtcm": (0x20000000, 0x20000, "dtcm"),
        "axi_sram": (0x24000000, 0x100000, "sram"),
        "ahb_sram": (0x30000000, 0x20000, "sram"),
        "srd_sram": (0x38000000, 0x8000, "sram"),
        "backup_sram": (0x38800000, 0x1000, "backup"),
        "psram": (0x90000000, 0x800000, "psram"),
    }
    assert board.region("psram").end == 0x90800000
    assert [r.name for r in board.regions_of_kind("sram")] == ["axi_sram", "ahb_sram", "srd_sram"]
    assert board.flash_erase_size == 8192
    assert board.storage.start == 0x081C0000 and board.storage.end == 0x08200000
    assert board.pll3.q_hz == 48_000_000
    assert board.mmio_block("OCTOSPI1").base == 0x52005000
    assert board.mmio_block("OCTOSPIM").base == 0x5200B400
    assert board.mmio_block("OCTOSPI1_MM").size == 0x10000000
    psram = board.psram
    assert (psram.base, psram.size, psram.page_size) == (0x90000000, 0x800000, 1024)
    assert psram.id_bytes == bytes([0x0D, 0x5D])
    assert psram.read_wait_cycles == 6
    assert psram.kernel_clock_hz == 140_000_000
    assert psram.clock_hz <= min(psram.max_clock_hz, psram.page_cross_max_hz)
    assert psram.id_clock_hz <= psram.read_id_max_hz


def test_devebox_specifics():
    board = load_board("devebox_h7a3")
    assert board.title == "DEVEBOX STM32H7XX"
    assert (board.led.port, board.led.pin, board.led.active_high) == ("A", 1, False)
    key = board.user_key
    assert (key.port, key.pin, key.active_high, key.pull) == ("E", 3, False, "up")
    psram = board.psram
    assert psram.compatible == "espressif,esp-psram64h"
    assert psram.part == "ESP-PSRAM64H"
    assert (psram.max_clock_hz, psram.page_cross_max_hz) == (133_000_000, 84_000_000)
    assert (psram.tcem_ns, psram.tcph_ns) == (8000, 50)
    assert psram.prescaler == 1            # 140 MHz / 2 = 70 MHz
    assert psram.id_prescaler == 1


def test_weact_specifics():
    board = load_board("weact_mini_h7a3")
    assert board.title == "WeAct MiniSTM32H7xx"
    assert (board.led.port, board.led.pin, board.led.active_high) == ("E", 3, True)
    key = board.user_key
    assert (key.port, key.pin, key.active_high, key.pull) == ("C", 13, True, "down")
    psram = board.psram
    assert psram.compatible == "apmemory,aps6404l"
    assert (psram.max_clock_hz, psram.tcem_ns, psram.tcph_ns) == (84_000_000, 4000, 18)
    assert psram.burst_page_boundary == "wrap"
    assert psram.prescaler == 1
    assert psram.id_prescaler == 4         # 140 MHz / 5 = 28 MHz <= 33 MHz for 0x9F


def test_unknown_board_lists_known_ones():
    with pytest.raises(InputError) as err:
        load_board("nucleo_h7a3")
    assert "nucleo_h7a3" in str(err.value)
    for name in BOARDS:
        assert name in str(err.value)
