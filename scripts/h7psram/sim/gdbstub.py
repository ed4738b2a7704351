"""A GDB remote-serial-protocol server for the simulated board (`--gdb PORT`).

Why not udbserver (the GDB server for unicorn on PyPI): it owns the engine.
It starts `emu_start` itself and single-steps with a per-instruction hook,
while this simulator runs unicorn in counted slices and does exception entry
and return, interrupts, timers and WFI sleep on the host between slices
(machine.py). Under udbserver none of that would run, so interrupts and
faults would never be taken. This server drives the machine's own run loop
instead: `continue` is `Machine.run()` until a breakpoint, Ctrl-C or a
caught fault halts it, a step is `run(max_instructions=1)`.

Breakpoints are UC_HOOK_CODE hooks bounded to one address (unicorn only
instruments instructions inside a hook's range, so they cost nothing
elsewhere); translated blocks holding the address are dropped so the hook is
seen. The hook stops the engine before the instruction runs.

Protocol reference: GDB manual, "Remote Protocol" (packets, qXfer target
descriptions, the 'org.gnu.gdb.arm.m-profile', 'm-system' and 'vfp' features).
"""
from __future__ import annotations

import logging
import select
import socket
import sys
from typing import Any, Callable

from unicorn import UC_HOOK_CODE, UcError
from unicorn import arm_const as A

from ..errors import InputError

log = logging.getLogger("h7psram.sim")

SIGINT, SIGTRAP, SIGABRT, SIGSEGV = 2, 5, 6, 11
PACKET_SIZE = 0x4000
_ACCEPT_POLL_S = 0.2


def _gprs() -> list[tuple[str, int, int, str]]:
    regs = [(f"r{i}", 32, getattr(A, f"UC_ARM_REG_R{i}"), "m-profile") for i in range(13)]
    regs += [("sp", 32, A.UC_ARM_REG_SP, "m-profile"), ("lr", 32, A.UC_ARM_REG_LR, "m-profile"),
             ("pc", 32, A.UC_ARM_REG_PC, "m-profile"), ("xpsr", 32, A.UC_ARM_REG_XPSR, "m-profile"),
             ("msp", 32, A.UC_ARM_REG_MSP, "m-system"), ("psp", 32, A.UC_ARM_REG_PSP, "m-system")]
    regs += [(n, 32, getattr(A, f"UC_ARM_REG_{n.upper()}"), "system")
             for n in ("primask", "basepri", "faultmask", "control")]
    regs += [(f"d{i}", 64, getattr(A, f"UC_ARM_REG_D{i}"), "vfp") for i in range(16)]
    regs += [("fpscr", 32, A.UC_ARM_REG_FPSCR, "vfp")]
    return regs


# (name, bits, unicorn id, feature); the list index is the remote register number.
REGISTERS = _gprs()
_FEATURES = {
    "m-profile": "org.gnu.gdb.arm.m-profile",
    "m-system": "org.gnu.gdb.arm.m-system",
    "system": "org.h7psram.cortex-m7.system",   # not a GDB feature: shown in `info registers system`
    "vfp": "org.gnu.gdb.arm.vfp",
}


def target_xml() -> str:
    """The target description: GDB's M-profile features plus the special registers and FPv5-D16."""
    out = ['<?xml version="1.0"?>', '<!DOCTYPE target SYSTEM "gdb-target.dtd">', "<target>",
           "<architecture>arm</architecture>"]
    for key, feature in _FEATURES.items():
        out.append(f'<feature name="{feature}">')
        for num, (name, bits, _, where) in enumerate(REGISTERS):
            if where != key:
                continue
            extra = ""
            if name == "sp" or name in ("msp", "psp"):
                extra = ' type="data_ptr"'
            elif name == "pc":
                extra = ' type="code_ptr"'
            elif bits == 64:
                extra = ' type="ieee_double" group="float"'
            elif name == "fpscr":
                extra = ' group="float"'
            elif key == "system":
                extra = ' group="system"'
            out.append(f'<reg name="{name}" bitsize="{bits}" regnum="{num}"{extra}/>')
        out.append("</feature>")
    out.append("</target>")
    return "\n".join(out)


def _checksum(data: bytes) -> int:
    return sum(data) & 0xFF


def _escape_binary(data: bytes) -> bytes:
    out = bytearray()
    for b in data:
        if b in (0x23, 0x24, 0x7D, 0x2A):
            out += bytes((0x7D, b ^ 0x20))
        else:
            out.append(b)
    return bytes(out)


def _unescape_binary(data: bytes) -> bytes:
    out = bytearray()
    it = iter(data)
    for b in it:
        out.append(next(it, 0) ^ 0x20 if b == 0x7D else b)
    return bytes(out)


class ConnectionLost(Exception):
    pass


class GdbServer:
    """Serves GDB on `host:port` for one machine; `serve()` returns how the session ended."""

    def __init__(self, machine: Any, port: int, host: str = "127.0.0.1",
                 announce: Callable[[str], None] | None = None) -> None:
        self.machine = machine
        self.host = host
        self.announce = announce or (lambda text: print(text, file=sys.stderr, flush=True))
        self.breakpoints: dict[int, int] = {}      # address -> unicorn hook handle
        self._skip_at: int | None = None
        self._last_stop = f"S{SIGTRAP:02x}"
        self._conn: socket.socket | None = None
        self._rx = bytearray()
        self._ack = True
        self._lost = False
        if not 0 <= port < 65536:
            raise InputError(f"--gdb {port}: not a TCP port")
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self._sock.bind((host, port))
        except OSError as err:
            self._sock.close()
            raise InputError(f"--gdb {port}: cannot listen on {host}:{port} ({err.strerror})") from None
        self._sock.listen(1)
        self.port = self._sock.getsockname()[1]

    # ------------------------------------------------------------------ session
    def serve(self) -> str:
        """Wait for GDB, serve it; "detached", "killed" or "stopped" (simulator told to end)."""
        m = self.machine
        m.catch_faults = True
        self.announce(f"gdb: listening on {self.host}:{self.port}, target halted at reset")
        try:
            while not m._stop.is_set():
                ready, _, _ = select.select([self._sock], [], [], _ACCEPT_POLL_S)
                if not ready:
                    continue
                conn, _ = self._sock.accept()
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                self._conn, self._rx, self._ack, self._lost = conn, bytearray(), True, False
                try:
                    outcome = self._session()
                except ConnectionLost:
                    outcome = "lost"
                finally:
                    conn.close()
                    self._conn = None
                if outcome != "lost":
                    return outcome
                self.announce("gdb: connection closed, target halted; waiting for GDB again")
            return "stopped"
        finally:
            self._sock.close()
            self._clear_breakpoints()
            m.catch_faults = False
            m.debug_poll = None

    def _session(self) -> str:
        while True:
            packet = self._read_packet()
            if packet is None:
                continue
            reply = self._handle(packet)
            if isinstance(reply, tuple):          # (reply, outcome): the session ends
                if reply[0] is not None:
                    self._send(reply[0])
                return reply[1]
            if reply is not None:
                self._send(reply)

    # ------------------------------------------------------------------ framing
    def _recv(self, block: bool = True) -> bool:
        assert self._conn is not None
        if not block and not select.select([self._conn], [], [], 0)[0]:
            return False
        try:
            data = self._conn.recv(65536)
        except OSError:
            data = b""
        if not data:
            self._lost = True
            raise ConnectionLost()
        self._rx += data
        return True

    def _read_packet(self) -> bytes | None:
        """The next packet's payload (acknowledged); None for stray bytes."""
        while True:
            start = self._rx.find(b"$")
            if start < 0:
                self._rx.clear()                  # acks, or a Ctrl-C while halted: nothing to do
                self._recv()
                continue
            end = self._rx.find(b"#", start)
            if end < 0 or len(self._rx) < end + 3:
                self._recv()
                continue
            payload = bytes(self._rx[start + 1:end])
            try:
                sent = int(self._rx[end + 1:end + 3], 16)
            except ValueError:
                sent = -1
            del self._rx[:end + 3]
            if self._ack:
                ok = sent == _checksum(payload)
                self._conn.sendall(b"+" if ok else b"-")
                if not ok:
                    return None
            return payload

    def _send(self, reply: str | bytes) -> None:
        data = reply.encode("latin-1") if isinstance(reply, str) else reply
        self._conn.sendall(b"$" + data + b"#%02x" % _checksum(data))
        while self._ack:
            # wait for GDB's '+' (a '-' asks for the packet again)
            while not self._rx:
                self._recv()
            b = self._rx[0]
            if b == 0x2B:                          # '+'
                del self._rx[0]
                return
            if b == 0x2D:                          # '-'
                del self._rx[0]
                self._conn.sendall(b"$" + data + b"#%02x" % _checksum(data))
                continue
            return                                 # a new packet: take it as the ack

    def _console(self, text: str) -> None:
        """Text for GDB's console ('O' packets), as a monitor command's output."""
        self._send("O" + text.encode().hex())

    # ------------------------------------------------------------------ packets
    def _handle(self, p: bytes) -> Any:
        text = p.decode("latin-1")
        cmd = text[:1]
        try:
            if text == "?":
                return self._last_stop
            if text.startswith("qSupported"):
                return f"PacketSize={PACKET_SIZE:x};qXfer:features:read+;QStartNoAckMode+;vContSupported+"
            if text == "QStartNoAckMode":
                self._send("OK")
                self._ack = False
                return None
            if text.startswith("qXfer:features:read:target.xml:"):
                off, length = (int(v, 16) for v in text.rsplit(":", 1)[1].split(","))
                xml = target_xml().encode()
                chunk = xml[off:off + length]
                return (b"l" if off + length >= len(xml) else b"m") + _escape_binary(chunk)
            if text.startswith("qXfer:"):
                return "E00"
            if text == "qAttached":
                return "1"
            if text == "qC":
                return "QC1"
            if text == "qfThreadInfo":
                return "m1"
            if text == "qsThreadInfo":
                return "l"
            if text.startswith("qSymbol"):
                return "OK"
            if text.startswith("qRcmd,"):
                return self._monitor(bytes.fromhex(text[6:]).decode(errors="replace").strip())
            if cmd in ("H", "T") or text == "!":
                return "OK"
            if cmd == "g":
                return "".join(self._reg_hex(i) for i in range(len(REGISTERS)))
            if cmd == "G":
                self._write_all_registers(bytes.fromhex(text[1:]))
                return "OK"
            if cmd == "p":
                n = int(text[1:], 16)
                return self._reg_hex(n) if n < len(REGISTERS) else "E01"
            if cmd == "P":
                n, value = text[1:].split("=")
                return self._write_register(int(n, 16), bytes.fromhex(value))
            if cmd == "m":
                addr, length = (int(v, 16) for v in text[1:].split(","))
                return self.machine.read_memory(addr, length).hex()
            if cmd == "M":
                where, data = text[1:].split(":", 1)
                addr = int(where.split(",")[0], 16)
                self.machine.write_memory(addr, bytes.fromhex(data))
                return "OK"
            if cmd == "X":
                colon = p.index(b":")
                addr = int(p[1:colon].split(b",")[0], 16)
                data = _unescape_binary(p[colon + 1:])
                if data:
                    self.machine.write_memory(addr, data)
                return "OK"
            if cmd in ("Z", "z"):
                return self._breakpoint(cmd == "Z", text[1:])
            if text == "vCont?":
                return "vCont;c;C;s;S"
            if text.startswith("vCont;"):
                action = text[6:].split(";")[0].split(":")[0]
                return self._resume(step=action[:1] in ("s", "S"))
            if cmd in ("c", "C"):
                return self._resume(step=False)
            if cmd in ("s", "S"):
                return self._resume(step=True)
            if text.startswith("vRun"):
                self._reset()
                return self._last_stop
            if cmd == "R":
                self._reset()
                return None
            if cmd == "D":
                return ("OK", "detached")
            if cmd == "k" or text.startswith("vKill"):
                return ("OK", "killed")
        except UcError:
            return "E14"                          # EFAULT: unmapped memory
        except (ValueError, IndexError):
            return "E01"
        return ""

    # ------------------------------------------------------------------ registers
    def _reg_hex(self, n: int) -> str:
        name, bits, rid, _ = REGISTERS[n]
        value = self.machine.uc.reg_read(rid)
        if name == "pc":
            value &= ~1
        return (value & ((1 << bits) - 1)).to_bytes(bits // 8, "little").hex()

    def _write_register(self, n: int, raw: bytes) -> str:
        if n >= len(REGISTERS):
            return "E01"
        name, bits, rid, _ = REGISTERS[n]
        value = int.from_bytes(raw[:bits // 8], "little")
        self.machine.uc.reg_write(rid, value | 1 if name == "pc" else value)
        return "OK"

    def _write_all_registers(self, raw: bytes) -> None:
        pos = 0
        for n, (_, bits, _, _) in enumerate(REGISTERS):
            size = bits // 8
            if pos + size > len(raw):
                break
            self._write_register(n, raw[pos:pos + size])
            pos += size

    # ------------------------------------------------------------------ breakpoints
    def _breakpoint(self, insert: bool, args: str) -> str:
        kind, addr_text = args.split(",")[:2]
        if kind not in ("0", "1"):
            return ""                              # watchpoints are not supported
        addr = int(addr_text, 16) & ~1
        uc = self.machine.uc
        if insert and addr not in self.breakpoints:
            self.breakpoints[addr] = uc.hook_add(UC_HOOK_CODE, self._on_breakpoint, begin=addr, end=addr)
            uc.ctl_remove_cache(addr, addr + 4)    # blocks translated without the hook
        elif not insert and addr in self.breakpoints:
            uc.hook_del(self.breakpoints.pop(addr))
            uc.ctl_remove_cache(addr, addr + 4)
        return "OK"

    def _on_breakpoint(self, uc: Any, address: int, size: int, ud: Any) -> None:
        if self._skip_at == address:
            self._skip_at = None                   # resuming from this breakpoint
            return
        self.machine.halt("breakpoint")

    def _clear_breakpoints(self) -> None:
        for addr in list(self.breakpoints):
            self._breakpoint(False, f"0,{addr:x}")

    # ------------------------------------------------------------------ running
    def _poll(self) -> None:
        """Between slices: a Ctrl-C (0x03) from GDB halts the target."""
        try:
            if self._recv(block=False) and 0x03 in self._rx:
                self._rx.clear()
                self.machine.halt("interrupt")
        except ConnectionLost:
            self.machine.halt("lost")

    def _resume(self, step: bool) -> Any:
        m = self.machine
        pc = m.uc.reg_read(A.UC_ARM_REG_PC) & ~1
        self._skip_at = pc if pc in self.breakpoints else None
        m.debug_halt = None
        m.debug_poll = self._poll
        try:
            result = m.run(max_instructions=1) if step else m.run()
        finally:
            m.debug_poll = None
            self._skip_at = None
        why = m.debug_halt
        m.debug_halt = None
        if self._lost:
            raise ConnectionLost()
        if result.reason == "died" and result.fault is not None:
            self._console(result.fault.format() + "\n")
            self._last_stop = f"S{SIGABRT:02x}"
        elif result.reason == "stopped":
            return ("W00", "stopped")              # the simulator was told to end (SIGTERM)
        elif why == "interrupt":
            self._last_stop = f"S{SIGINT:02x}"
        elif why == "fault":
            self._last_stop = f"S{SIGSEGV:02x}"
        else:
            self._last_stop = f"S{SIGTRAP:02x}"
        return self._last_stop

    def _reset(self) -> None:
        self.machine.reset()
        self.machine.fault_report = None
        self._last_stop = f"S{SIGTRAP:02x}"

    def _monitor(self, command: str) -> str:
        words = command.split()
        if words[:1] == ["reset"] and words[1:] in ([], ["halt"], ["init"], ["run"]):
            self._reset()
            self._console("target reset, halted at the reset vector\n")
            return "OK"
        if words[:1] == ["halt"]:
            return "OK"                            # a halted target is all GDB can see
        if words[:1] == ["help"]:
            self._console("monitor reset [halt|init]: reset the board, halted at the reset vector\n")
            return "OK"
        self._console(f"unknown monitor command '{command}' (try 'monitor help')\n")
        return "OK"
