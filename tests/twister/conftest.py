"""A MicroPython-like peer on a real pseudo-terminal, for testing the adapters and the raw REPL.

The peer owns the master side of ``os.openpty()`` and speaks the REPL protocol the way
MicroPython's ``pyexec.c`` does: friendly REPL with echo, raw REPL (Ctrl-A), raw-paste mode
(Ctrl-E A Ctrl-A with window flow control), soft reset (Ctrl-D on an empty raw line) and
``machine.reset()`` (reprints the boot log). Code is run by the host interpreter, so what the
tests get back is real output and real exceptions, formatted like MicroPython's tracebacks.
"""

from __future__ import annotations

import io
import os
import select
import sys
import threading
import time
import tty
import types
from typing import Iterator, Optional

import pytest

BANNER = ("MicroPython v1.28.0 on 2026-01-01; DEVEBOX STM32H7XX with STM32H7A3\r\n"
          "Type \"help()\" for more information.\r\n")
BOOT_LOG = ("psram: ESP-PSRAM64H\r\n"
            "spiram eid 0d 5d 52 a2 64 31 91 31\r\n"
            "spiram memtest pass\r\n" + BANNER + ">>> ")
RAW_BANNER = "raw REPL; CTRL-B to exit\r\n"
PASTE_WINDOW = 32


class _MachineReset(Exception):
    pass


class ReplPeer:
    def __init__(self, *, raw_paste: bool = True, boot_log: str = BOOT_LOG) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        self.path = os.ttyname(self.slave)
        self.raw_paste = raw_paste
        self.boot_log = boot_log
        self.received = bytearray()
        self.resets = 0
        self.hang = False  # accept code, then never answer (a firmware stuck in a loop)
        self.soft_resets = 0
        self._globals: dict = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="repl-peer")

    # -- host side ---------------------------------------------------------------------
    def start(self, boot: bool = True) -> "ReplPeer":
        if boot:
            self.say(self.boot_log)
        self._thread.start()
        return self

    def say(self, text: str) -> None:
        os.write(self.master, text.encode())

    def die(self) -> None:
        """The board goes away: the master side closes, reads on the slave fail."""
        self._stop.set()
        self._thread.join(timeout=2)
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass

    stop = die

    # -- the device ------------------------------------------------------------------------
    def _getc(self) -> Optional[int]:
        while not self._stop.is_set():
            ready, _, _ = select.select([self.master], [], [], 0.05)
            if ready:
                try:
                    data = os.read(self.master, 1)
                except OSError:
                    return None
                if data:
                    self.received += data
                    return data[0]
        return None

    def _run(self) -> None:
        mode = "friendly"
        while not self._stop.is_set():
            mode = self._friendly() if mode == "friendly" else self._raw()
            if mode == "stop":
                return

    def _friendly(self) -> str:
        line = bytearray()
        while True:
            c = self._getc()
            if c is None:
                return "stop"
            if c == 0x01:
                self.say("\r\n" + RAW_BANNER + ">")
                return "raw"
            if c == 0x02:
                self.say("\r\n" + BANNER + ">>> ")
                line.clear()
            elif c == 0x03:
                self.say("\r\n>>> ")
                line.clear()
            elif c == 0x0D:
                self.say("\r\n")
                try:
                    out, err = self._execute(line.decode())
                except _MachineReset:
                    self._hard_reset()
                    return "friendly"
                self.say(out.replace("\n", "\r\n") + err + ">>> ")
                line.clear()
            else:
                line.append(c)
                os.write(self.master, bytes([c]))

    def _raw(self) -> str:
        line = bytearray()
        while True:
            c = self._getc()
            if c is None:
                return "stop"
            if c == 0x01:
                if self.raw_paste and line == b"\x05A":
                    return self._raw_paste()
                self.say(RAW_BANNER + ">")
                line.clear()
            elif c == 0x02:
                self.say("\r\n" + BANNER + ">>> ")
                return "friendly"
            elif c == 0x03:
                line.clear()
            elif c == 0x04:
                self.say("OK")
                if not line:
                    self.soft_resets += 1
                    self._globals = {}
                    self.say("\r\nMPY: soft reboot\r\n" + RAW_BANNER + ">")
                    continue
                self._run_raw(line.decode())
                line.clear()
            else:
                line.append(c)

    def _raw_paste(self) -> str:
        self.say("R\x01")
        os.write(self.master, PASTE_WINDOW.to_bytes(2, "little"))
        code = bytearray()
        since_window = 0
        while True:
            c = self._getc()
            if c is None:
                return "stop"
            if c == 0x04:
                self.say("\x04")
                break
            code.append(c)
            since_window += 1
            if since_window == PASTE_WINDOW:
                since_window = 0
                os.write(self.master, b"\x01")
        self._run_raw(code.decode(), ok=False)
        return "raw"

    def _run_raw(self, code: str, ok: bool = True) -> None:
        if self.hang:
            return
        try:
            out, err = self._execute(code)
        except _MachineReset:
            self._hard_reset()
            return
        self.say(out.replace("\n", "\r\n") + "\x04" + err + "\x04>")

    def _hard_reset(self) -> None:
        self.resets += 1
        self._globals = {}
        time.sleep(0.01)
        self.say(self.boot_log)

    def _execute(self, code: str) -> tuple[str, str]:
        if not code.strip():
            return "", ""
        out = io.StringIO()

        def device_print(*args: object, **kwargs: object) -> None:
            kwargs.pop("file", None)
            print(*args, file=out, **kwargs)  # type: ignore[call-overload]

        def reset() -> None:
            raise _MachineReset

        machine = types.ModuleType("machine")
        machine.reset = reset  # type: ignore[attr-defined]
        env = self._globals
        env["print"] = device_print
        env.setdefault("__name__", "__main__")
        saved = sys.modules.get("machine")
        sys.modules["machine"] = machine
        try:
            exec(compile(code, "<stdin>", "exec"), env)
        except _MachineReset:
            raise
        except Exception as err:  # reported the way MicroPython prints an uncaught exception
            tb = err.__traceback__
            line = 1
            while tb is not None:
                if tb.tb_frame.f_code.co_filename == "<stdin>":
                    line = tb.tb_lineno
                tb = tb.tb_next
            text = str(err)
            last = f"{type(err).__name__}: {text}" if text else type(err).__name__
            return out.getvalue(), ("Traceback (most recent call last):\r\n"
                                    f"  File \"<stdin>\", line {line}, in <module>\r\n{last}\r\n")
        finally:
            if saved is None:
                sys.modules.pop("machine", None)
            else:
                sys.modules["machine"] = saved
        return out.getvalue(), ""


@pytest.fixture
def repl_peer() -> Iterator[ReplPeer]:
    peer = ReplPeer().start()
    yield peer
    peer.die()


@pytest.fixture
def make_peer() -> Iterator:
    peers: list[ReplPeer] = []

    def make(**kwargs: object) -> ReplPeer:
        boot = bool(kwargs.pop("boot", True))
        peer = ReplPeer(**kwargs).start(boot=boot)  # type: ignore[arg-type]
        peers.append(peer)
        return peer

    yield make
    for peer in peers:
        peer.die()
