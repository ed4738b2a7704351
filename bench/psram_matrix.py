#!/usr/bin/env python3
"""The PSRAM write matrix: MPU attribute x DQSE x CSBOUND x REFRESH x store width, on the simulator.

Every cell is a run of tests/sim/firmware/psram_stores.c on the devebox_h7a3 board model: the
OCTOSPI is configured at register level as the driver does (QPI 0xEB/0x38, TCEN with LPTR 1,
CSHT from tCPH, 70 MHz), the MPU region of the window gets the attribute, the image enables the
D-cache, writes 2 KiB across two 1 KiB page boundaries with stores of one width, cleans and
invalidates the range by address and reads it back. The outcome names the mechanism that fired,
from what the models recorded (docs/psram-matrix.md explains each).

Usage: python3 bench/psram_matrix.py [--write]   (--write replaces the table in docs/psram-matrix.md)
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))
sys.path.insert(0, str(REPO / "tests" / "sim"))

from test_octospi_support import (bring_up, build_stores_program, make_machine, route_pins,  # noqa: E402
                                  run_stores, set_mpu)

from h7psram.sim.psram_faults import PsramFaults  # noqa: E402

DOC = REPO / "docs" / "psram-matrix.md"
BEGIN, END = "<!-- matrix:begin (bench/psram_matrix.py --write) -->", "<!-- matrix:end -->"
BASE = 0x903E1E00          # 2 KiB over the page ends at 0x903E2000 and 0x903E2400 (the seed's 0x903e2070)
SPAN = 2048
REFRESH_TCEM = 554         # the driver's value for 8 us at 70 MHz (docs/driver.md)
ATTRS = [("wbwa", "WBWA (TEX1 C1 B1)"), ("wb", "WB no-WA, bufferable (TEX0 C1 B1)"),
         ("wt", "WT, not bufferable (TEX0 C1 B0)"), ("nc", "Normal non-cacheable (TEX1 C0 B0)"),
         ("device", "Device (TEX0 C0 B1)")]
CELLS = [(1, 0), (2, 0), (2, 1), (4, 0), (4, 1), (8, 0), (8, 4)]


@dataclass(frozen=True)
class Config:
    attr: str
    dqse: bool
    csbound: int
    refresh: int
    faults: tuple[str, ...] = ()
    mode: int = 0                 # 0 back-to-back stores, 1 a DSB after each store
    csht: int = 3

    @property
    def label(self) -> str:
        return dict(ATTRS)[self.attr]


def outcome(cfg: Config, elf: Path, width: int, misalign: int) -> str:
    return run_cell(cfg, elf, width, misalign)[0]


def run_cell(cfg: Config, elf: Path, width: int, misalign: int) -> tuple[str, str]:
    """(outcome code, the memtest-style line of the first failure)."""
    faults = PsramFaults.from_cli(list(cfg.faults)) if cfg.faults else None
    m = make_machine(faults=faults)
    m.load_elf(str(elf))
    route_pins(m)
    drv = bring_up(m, csbound=cfg.csbound, refresh=cfg.refresh, csht=cfg.csht)
    set_mpu(m, cfg.attr)
    drv.memory_mapped(dqse=cfg.dqse, tcen=True, lptr=1)
    ospi = drv.ospi
    r = run_stores(m, base=BASE, count=(SPAN - 8) // width, width=width, misalign=misalign, mode=cfg.mode)
    counts = ospi.psram.violation_counts
    path = "fast" if ospi.mapped and ospi.mapped[0] == "ram" else "model"
    if r.fault is not None:
        return ("BusFault" if "BusFault" in r.fault.cause else "fault"), r.line
    if not r.done:
        return "hang", r.line
    if not r.errors:
        return ("pass" if path == "model" else "pass (fast)"), r.line
    why = []
    if counts["tcem"]:
        why.append("tCEM")
    if counts["page-cross"]:
        why.append("wrap")
    if not why:
        why.append("data")
    return f"{'+'.join(why)} {r.errors}/{(SPAN - 8) // width}", r.line


def configs() -> list[Config]:
    out = [Config(a, d, c, r) for a, _ in ATTRS for d in (True, False) for c in (10, 0) for r in (REFRESH_TCEM, 0)]
    return out


def extra_configs() -> list[tuple[str, Config]]:
    """The seed's first configuration and the driver's, as named rows; write-path hazard switches
    that exist in this simulator (`narrow-write-zero`) on both."""
    rows = [("seed (koendv): WBWA, CSBOUND 10, REFRESH 0, CSHT 0", Config("wbwa", True, 10, 0, csht=0)),
            ("driver: WT not bufferable, CSBOUND 10, REFRESH 554", Config("wt", True, 10, REFRESH_TCEM))]
    if "narrow_write_zero" in PsramFaults.__dataclass_fields__:
        for name, cfg in list(rows):
            for mode, how in ((0, "back to back"), (1, "DSB after each")):
                rows.append((f"{name.split(':')[0]} + narrow-write-zero, stores {how}",
                             Config(cfg.attr, cfg.dqse, cfg.csbound, cfg.refresh, ("narrow-write-zero",), mode,
                                    cfg.csht)))
    return rows


def header() -> list[str]:
    cols = [f"{8 * w}-bit{'' if not a else f' +{a}'}" for w, a in CELLS]
    return ["| config | " + " | ".join(cols) + " |", "|---|" + "---|" * len(cols)]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true", help=f"replace the table in {DOC.relative_to(REPO)}")
    args = ap.parse_args()
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        elf = build_stores_program(Path(tmp))
        lines = ["Attribute × DQSE × CSBOUND × REFRESH (TCEN, LPTR 1, CSHT 3, 70 MHz, ESP-PSRAM64H; "
                 "2 KiB of stores back to back from 0x903E1E00, clean+invalidate, read back). A cell is "
                 "`pass`, `pass (fast)` (the plain RAM path: nothing to model), `BusFault`, or the "
                 "mechanism(s) recorded and failing elements / elements; `+N` = address misaligned by N.", ""]
        lines += header()
        for cfg in configs():
            row = [f"{cfg.label}, DQSE {int(cfg.dqse)}, CSBOUND {cfg.csbound}, REFRESH {cfg.refresh}"]
            row += [outcome(cfg, elf, w, a) for w, a in CELLS]
            lines.append("| " + " | ".join(row) + " |")
            print(lines[-1], flush=True)
        lines += ["", "Named configurations:", ""] + header()
        for name, cfg in extra_configs():
            row = [name] + [outcome(cfg, elf, w, a) for w, a in CELLS]
            lines.append("| " + " | ".join(row) + " |")
            print(lines[-1], flush=True)
        seed = extra_configs()[0][1]
        lines += ["", "The seed's configuration with 16-bit stores, first failure: `" +
                  run_cell(seed, elf, 2, 0)[1] + "`"]
    lines.append("")
    lines.append(f"<!-- {len(configs()) + len(extra_configs())} rows, {time.monotonic() - t0:.0f} s -->")
    if args.write:
        text = DOC.read_text()
        a, b = text.index(BEGIN) + len(BEGIN), text.index(END)
        DOC.write_text(text[:a] + "\n" + "\n".join(lines) + "\n" + text[b:])
        print(f"wrote {DOC.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
