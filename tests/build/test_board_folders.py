"""The board folders state the same facts as the devicetree (names, pins, clocks)."""

from __future__ import annotations

import re

import pytest

from board_files import board_macros, cpu_pin, defines, pins_csv, unparen
from h7psram import boards, build

BOARDS = boards.known_boards()
LQFP100_PINS = {f"P{p}{n}" for p in "ABCDE" for n in range(16)} | {"PH0", "PH1"}


def test_every_devicetree_board_has_a_folder_and_back():
    assert BOARDS, "no boards in dts/"
    assert build.board_folders() == sorted(BOARDS)
    assert build.known_boards() == sorted(BOARDS)


def hal_conf(repo, name):
    """The HAL configuration the board's build includes: its own, else the shared one."""
    own = repo / "boards" / name / "stm32h7xx_hal_conf.h"
    return own if own.is_file() else repo / "boards" / "common" / "stm32h7xx_hal_conf.h"


@pytest.mark.parametrize("name", BOARDS)
def test_folder_has_the_files_micropython_needs(repo, name):
    folder = repo / "boards" / name
    for f in ("mpconfigboard.h", "mpconfigboard.mk", "pins.csv"):
        assert (folder / f).is_file(), f"{folder / f} missing"
    assert hal_conf(repo, name).is_file()
    mk = (folder / "mpconfigboard.mk").read_text()
    assert re.search(r"^MCU_SERIES\s*=\s*h7$", mk, re.M)
    assert re.search(r"^CMSIS_MCU\s*=\s*STM32H7A3xx$", mk, re.M)
    assert "h7psram_board.mk" in mk


@pytest.mark.parametrize("name", BOARDS)
def test_names_match_the_devicetree(repo, name):
    board = boards.load_board(name)
    m = board_macros(repo, name)
    assert m["MICROPY_HW_BOARD_NAME"] == f'"{board.title}"'
    assert m["MICROPY_HW_MCU_NAME"] == f'"{board.mcu}"'


@pytest.mark.parametrize("name", BOARDS)
def test_pins_csv_names_the_devicetree_pins(repo, name):
    board = boards.load_board(name)
    pins = pins_csv(repo / "boards" / name / "pins.csv")
    assert set(pins.values()) <= LQFP100_PINS, set(pins.values()) - LQFP100_PINS
    for signal, (port, pin, _af) in board.pins.items():
        if signal.startswith("OSPI_"):
            assert pins.get(signal) == cpu_pin(port, pin), f"{name}: {signal}"
    uart = board.repl_uart.replace("USART", "UART")
    for end in ("TX", "RX"):
        port, pin, _af = board.pins[f"REPL_{end}"]
        assert pins.get(f"{uart}_{end}") == cpu_pin(port, pin), f"{name}: {uart}_{end}"
    # nothing else on the board may claim a PSRAM pin under another name
    ospi = {cpu_pin(p, n) for s, (p, n, _) in board.pins.items() if s.startswith("OSPI_")}
    for label, cpu in pins.items():
        if cpu in ospi:
            assert label.startswith("OSPI_") or re.fullmatch(r"[A-E]\d+", label), (label, cpu)


@pytest.mark.parametrize("name", BOARDS)
def test_repl_uart_and_led_match_the_devicetree(repo, name):
    board = boards.load_board(name)
    m = board_macros(repo, name)
    number = int(board.repl_uart.replace("USART", "").replace("UART", ""))
    assert m["MICROPY_HW_UART_REPL"] == f"PYB_UART_{number}"
    assert unparen(m["MICROPY_HW_UART_REPL_BAUD"]).rstrip("u") == str(board.repl_baudrate)
    for end in ("TX", "RX"):
        port, pin, _af = board.pins[f"REPL_{end}"]
        assert unparen(m[f"MICROPY_HW_UART{number}_{end}"]) == f"pin_{port}{pin}"
    led = board.led
    assert unparen(m["MICROPY_HW_LED1"]) == f"pin_{led.port}{led.pin}"
    lit = "mp_hal_pin_high" if led.active_high else "mp_hal_pin_low"
    assert unparen(m["MICROPY_HW_LED_ON(pin)"]) == f"{lit}(pin)", f"{name}: dts says the LED is lit by {lit}"
    key = board.user_key
    assert unparen(m["MICROPY_HW_USRSW_PIN"]) == f"pin_{key.port}{key.pin}"
    assert unparen(m["MICROPY_HW_USRSW_PRESSED"]) == str(int(key.active_high))
    pull = {"up": "GPIO_PULLUP", "down": "GPIO_PULLDOWN", "none": "GPIO_NOPULL"}[key.pull]
    assert unparen(m["MICROPY_HW_USRSW_PULL"]) == pull


@pytest.mark.parametrize("name", BOARDS)
def test_clocks_match_the_devicetree(repo, name):
    board = boards.load_board(name)
    m = board_macros(repo, name)
    hal = defines(hal_conf(repo, name))
    assert int(unparen(hal["HSE_VALUE"])) == board.hse_hz
    for f in "MNPQR":
        assert int(unparen(m[f"MICROPY_HW_CLK_PLL{f}"])) == getattr(board.pll1, f.lower()), f"PLL1{f}"
    pll3 = board.pll3
    for f in "MNPQR":
        assert int(unparen(m[f"MICROPY_HW_CLK_PLL3{f}"])) == getattr(pll3, f.lower()), f"PLL3{f}"
    assert board.hse_hz // pll3.m * pll3.n // pll3.q == 48_000_000
    assert board.sysclk_hz == 280_000_000


def test_shared_hooks_and_heap_macros(repo):
    m = defines(repo / "boards" / "common" / "h7psram_common.h")
    assert m["MICROPY_BOARD_EARLY_INIT"] == "h7psram_board_early_init"
    assert m["MICROPY_BOARD_BEFORE_SOFT_RESET_LOOP"] == "h7psram_board_before_soft_reset_loop"
    assert m["MICROPY_HW_ENABLE_INTERNAL_FLASH_STORAGE"] == "(1)"
    text = (repo / "boards" / "common" / "h7psram_common.h").read_text()
    assert "#if H7PSRAM_HEAP_SPLIT" in text and "MICROPY_GC_SPLIT_HEAP" in text
    # nothing in the firmware may exist only for the simulator
    for path in (repo / "boards").rglob("*"):
        if path.is_file():
            assert not re.search(r"\bSIM\b|SIMULATOR", path.read_text()), path
