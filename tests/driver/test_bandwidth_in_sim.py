"""The self-test's `spiram bandwidth` line on the simulator's full OCTOSPI model (`exact`).

The figures must be positive, within the bus limit (4 lines at the programmed CLK), and close to
what the modelled command phases of the driver's own registers allow. They are checked against
the model, not a chip: docs/benchmarks.md.
"""
from __future__ import annotations

import math
import re
import shutil
from pathlib import Path

import pytest

from h7psram.selftest_build import build_selftest

pytestmark = pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None,
                                reason="arm-none-eabi-gcc not installed")

sim_machine = pytest.importorskip("h7psram.sim.machine", reason="simulator not available")
from h7psram.boards import load_board  # noqa: E402
from h7psram.sim.octospi_mm import CPU_ACCESS_GAP_CYCLES  # noqa: E402
from h7psram.sim.octospi_regs import DCR1, DCR4, TCR  # noqa: E402

LINE = re.compile(r"^spiram bandwidth read (\d+\.\d) MB/s write (\d+\.\d) MB/s limit (\d+\.\d) MB/s$",
                  re.MULTILINE)
PAGE = 1024            # the driver's CSBOUND: a write command never crosses a 1 KiB page
HEADER_CLOCKS = 2 + 6  # 8-bit instruction and 24-bit address on 4 lines
# Measured / modelled: the model charges exactly the command phases, and the CPU's own work
# between accesses (loop, the copy in and out of the write pieces, the cache clean, CYCCNT reads)
# only lowers the figure; 5-15 % here. The simulator credits instructions a slice at a time, a
# few thousand cycles either way against about 0.6 M per direction, hence the 2 % above 1.
# Below 0.75 the time would be charged twice or per word where the model sends bursts.
PLAUSIBLE = (0.75, 1.02)


def modelled(ospi) -> tuple[float, float]:
    """Bytes/s the command phases allow with the driver's registers and the D-cache off (the
    self-test): every 32-bit read its own command; writes in bursts cut by REFRESH and CSBOUND."""
    clk = ospi.clk_hz()
    dcyc = ospi.read(TCR, 4) & 0x1F
    csht = ospi.read(DCR1, 4) >> 8 & 0x7
    refresh = ospi.read(DCR4, 4)
    read = 4 * clk / (HEADER_CLOCKS + dcyc + 8 + CPU_ACCESS_GAP_CYCLES)
    per_burst = (refresh + 1 - HEADER_CLOCKS) // 2          # bytes a command carries before REFRESH
    bursts = math.ceil(PAGE / per_burst)
    write = PAGE * clk / (2 * PAGE + bursts * (HEADER_CLOCKS + csht + 1))
    return read, write


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> dict[str, Path]:
    top = tmp_path_factory.mktemp("bandwidth")
    return {board: build_selftest(board, top / board, ["SELFTEST_QUICK_MEMTEST"])
            for board in ("devebox_h7a3", "weact_mini_h7a3")}


def run(board: str, elf: Path, exact: bool):
    m = sim_machine.Machine(load_board(board))
    try:
        ospi = m.peripherals["OCTOSPI1"]
        ospi.exact = exact
        m.load_elf(str(elf))
        m.run(max_seconds=2.0, until_text=" MB/s\r\n")
        out = m.uart.output().decode(errors="replace").replace("\r\n", "\n")
        found = LINE.search(out)
        assert found, out
        return ospi, [float(v) * 1e6 for v in found.groups()]
    finally:
        m.close()


@pytest.mark.parametrize("board", ["devebox_h7a3", "weact_mini_h7a3"])
def test_bandwidth_is_bounded_by_the_bus_and_matches_the_model(images, board):
    ospi, (read, write, limit) = run(board, images[board], exact=True)
    assert ospi.mapped[0] == "burst"
    assert limit == ospi.clk_hz() / 2          # 4 bits per CLK
    assert 0 < read <= limit and 0 < write <= limit, (read, write, limit)
    model_read, model_write = modelled(ospi)
    for name, got, want in (("read", read, model_read), ("write", write, model_write)):
        ratio = got / want
        assert PLAUSIBLE[0] <= ratio <= PLAUSIBLE[1], f"{name} {got / 1e6:.1f} MB/s, model {want / 1e6:.1f}"


def test_fast_path_figures_are_not_bus_figures(images):
    # the window as plain RAM costs no PSRAM time: reads run at CPU speed, past the limit, which
    # is why the check above needs the full model (docs/selftest.md)
    ospi, (read, _, limit) = run("devebox_h7a3", images["devebox_h7a3"], exact=False)
    assert ospi.mapped[0] == "ram"
    assert read > limit
