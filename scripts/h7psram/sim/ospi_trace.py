"""The OSPI pins as a logic analyser records them: a Value Change Dump of NCS, CLK and IO0-IO3.

`west sim --trace-ospi FILE.vcd` (docs/debugging.md). The PSRAM model already
works cycle by cycle on the wires (sim/psram.py); while a trace is on, each
CE#-low period (`Burst`) keeps what its wires carried and hands it to
`OspiTrace.burst` when CE# rises. Indirect commands and memory-mapped
accesses both end there. To see every memory-mapped access, the controller is
told to serve the window through its burst model (`exact`) instead of as
plain memory while the trace runs; after `limit` transactions it goes back.

Timing: a cycle lasts one period of the OSPI clock the controller was
programmed with (kernel clock / (PRESCALER + 1)); a stall (the controller
waiting for the next AXI access with NCS held) stops the clock; a
transaction starts no earlier than the simulated time its first access came,
and no earlier than the previous one's end plus the NCS high time the
controller keeps (CSHT). IO lines nobody drives read high, as the model's
pads do. Written with pyvcd; the decoder is sim/ospi_decode.py.
"""
from __future__ import annotations

from typing import Any, TextIO

from ..errors import InputError

#: Transactions written before the trace stops and the window is plain memory again.
DEFAULT_LIMIT = 20000
#: VCD time unit: fine enough for half periods at the PSRAM's 133 MHz, coarse
#: enough that sigrok's VCD import (one sample per unit) stays small.
TIMESCALE = "100 ps"
TICKS_PER_NS = 10
#: the VCD's signal names, which the decoder looks for
SIGNALS = ("ncs", "clk", "io0", "io1", "io2", "io3")


class OspiTrace:
    """Writes the OSPI bus of `machine`'s OCTOSPI1 + PSRAM to `path` as VCD."""

    def __init__(self, machine: Any, path: str, limit: int = DEFAULT_LIMIT) -> None:
        from vcd import VCDWriter

        if limit < 1:
            raise InputError(f"--trace-limit {limit}: must be at least 1 transaction")
        try:
            self.ctrl = machine.peripheral("OCTOSPI1")
        except KeyError:
            raise InputError(f"{path}: board {machine.board.name} has no OCTOSPI1 + PSRAM to trace") from None
        try:
            self.file: TextIO = open(path, "w")
        except OSError as err:
            raise InputError(f"{path}: cannot write the trace ({err.strerror})") from None
        self.machine = machine
        self.psram = self.ctrl.psram
        self.limit = limit
        self.count = 0
        self.end_tick = 0
        part = self.psram.part
        self.writer = VCDWriter(
            self.file, timescale=TIMESCALE, date="(simulated)", version="h7psram board simulator",
            comment=f"h7psram OSPI trace board={machine.board.name} part={part.name} "
                    f"qpi={int(self.psram.qpi)} (OCTOSPI1 port 1; decode with 'west sim-decode')")
        w = self.writer
        self.ncs, self.clk, *self.io = (w.register_var("ospi", name, "wire", size=1, init=int(name != "clk"))
                                        for name in SIGNALS)
        self.psram.observer = self
        self.ctrl.exact = True
        self.ctrl.reevaluate()

    def now_ns(self) -> float:
        return self.machine.now_ns

    @property
    def active(self) -> bool:
        return self.psram.observer is self

    def burst(self, burst: Any) -> None:
        """One CE#-low period ended: draw it."""
        w, clk, io = self.writer, self.clk, self.io
        period = 1e9 / burst.clk_hz * TICKS_PER_NS
        # between two commands the controller keeps NCS high CSHT+1 cycles at least
        gap = burst.ce_high_ns if burst.ce_high_ns is not None else self.ctrl.csht_ns()
        start = max(round(burst.selected_ns * TICKS_PER_NS), self.end_tick + round(gap * TICKS_PER_NS))
        w.change(self.ncs, start, 0)
        t = float(start)
        for item in burst.wire:
            if isinstance(item, float):
                t += item * TICKS_PER_NS       # the clock stands still, NCS stays low
                continue
            for nib in item:
                edge = round(t)
                for k in range(4):
                    w.change(io[k], edge, (nib >> k) & 1)
                w.change(clk, round(t + period / 2), 1)
                t += period
                w.change(clk, round(t), 0)
        self.end_tick = round(t)
        w.change(self.ncs, self.end_tick, 1)
        for line in io:
            w.change(line, self.end_tick, 1)
        self.count += 1
        if self.count >= self.limit:
            self.stop()

    def stop(self) -> None:
        """No more transactions: the window may be plain memory again (at the next slice)."""
        if not self.active:
            return
        self.psram.observer = None
        self.ctrl.exact = False
        self.machine.after_ns(0, self.ctrl.reevaluate)

    def close(self) -> None:
        if self.active:
            # a memory-mapped burst the controller still holds open belongs in the trace
            self.ctrl._close_burst()
            self.psram.observer = None
            self.ctrl.exact = False
        self.writer.close(self.end_tick + 1)
        self.file.close()
