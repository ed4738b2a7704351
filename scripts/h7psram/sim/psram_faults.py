"""Injected PSRAM faults: what a bad solder joint, a bad die or a doubtful silicon path looks like to firmware.

The chip faults act inside the chip model (`sim/psram.py`), so every path
that reaches the chip sees them: indirect commands, the read-ID sequence and
memory-mapped accesses. A chip with a data or address fault is never mapped
as plain RAM (see `PsramFaults.affects_array`), so a firmware memtest meets
the fault exactly as on a board.

`narrow_write_zero` is not a chip fault but a suspected behaviour of the
OCTOSPI's memory-mapped write path; it acts in the controller model
(`sim/octospi_mm.py`) on each AXI write. It travels with the chip faults so
that `--fault`, `Machine(psram_faults=...)` and the twister `sim_faults`
fixture switch it the same way.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import InputError

#: Read-ID answer used for `wrong-id`: a manufacturer byte that is not AP
#: Memory's 0x0D (the rest as on the ESP-PSRAM64H in docs/hardware.md#psram).
WRONG_ID = bytes([0x9D, 0x5D, 0x52, 0xA2, 0x64, 0x31, 0x91, 0x31])
#: Known-good-die byte of a die that failed the factory test (docs/hardware.md#psram).
KGD_FAIL = 0x55
#: Address bits the chip decodes: A[22:0] (docs/hardware.md#psram).
ADDRESS_BITS = 23

CLI_FORMS = "absent | wrong-id[=HEXBYTES] | bad-kgd | stuck-bit=N[:0|1] | short=A,B | narrow-write-zero"


@dataclass(frozen=True)
class PsramFaults:
    """Faults of one chip.

    absent: nothing answers; the IO lines float high (reads 0xFF, writes vanish).
    id_bytes: the 8 bytes the chip returns for read-ID instead of its own.
    kgd: the known-good-die byte (second ID byte) instead of 0x5D.
    stuck_data_bit: bit N (0..7) of every byte the array returns is stuck at
        `stuck_level` -- a broken sense line inside the die, so the read-ID
        answer (which does not come from the array) is unaffected.
    shorted_address_lines: (A, B): address bits A and B of the array decoder
        are wired together; both take the value A AND B, so addresses that
        differ only in those bits alias to one cell.
    narrow_write_zero: with WCCR.DQSE=1, an AXI write narrower than 64 bits
        writes the bytes of its 8-byte aligned double word that it does not
        strobe as 0. Reported by users on related parts (STM32H7B0 +
        APS6404L, STM32H723 + IS66WVS4M8; ST community threads), not
        confirmed by ST: docs/hardware.md#dqse. Off by default.
    """

    absent: bool = False
    id_bytes: bytes | None = None
    kgd: int | None = None
    stuck_data_bit: int | None = None
    shorted_address_lines: tuple[int, int] | None = None
    stuck_level: int = 0
    narrow_write_zero: bool = False

    def __post_init__(self) -> None:
        if self.id_bytes is not None and len(self.id_bytes) != 8:
            raise InputError(f"psram fault: id_bytes must be 8 bytes, got {len(self.id_bytes)}")
        if self.kgd is not None and not 0 <= self.kgd <= 0xFF:
            raise InputError(f"psram fault: kgd must be a byte, got {self.kgd}")
        if self.stuck_data_bit is not None and not 0 <= self.stuck_data_bit <= 7:
            raise InputError(f"psram fault: stuck data bit must be 0..7, got {self.stuck_data_bit}")
        if self.stuck_level not in (0, 1):
            raise InputError(f"psram fault: stuck level must be 0 or 1, got {self.stuck_level}")
        if self.shorted_address_lines is not None:
            a, b = self.shorted_address_lines
            if a == b or not (0 <= a < ADDRESS_BITS and 0 <= b < ADDRESS_BITS):
                raise InputError(
                    f"psram fault: shorted address lines must be two different bits of A0..A{ADDRESS_BITS - 1},"
                    f" got {a},{b}")

    # -- what the chip model asks ------------------------------------------------
    @property
    def affects_array(self) -> bool:
        """True when array data differs from a healthy chip (no plain-RAM mapping then)."""
        return self.absent or self.stuck_data_bit is not None or self.shorted_address_lines is not None

    @property
    def any(self) -> bool:
        return (self.affects_array or self.id_bytes is not None or self.kgd is not None
                or self.narrow_write_zero)

    def array_address(self, address: int) -> int:
        if self.shorted_address_lines is None:
            return address
        a, b = self.shorted_address_lines
        both = (address >> a) & (address >> b) & 1
        address &= ~((1 << a) | (1 << b))
        return address | (both << a) | (both << b)

    def array_data(self, value: int) -> int:
        if self.stuck_data_bit is None:
            return value
        bit = 1 << self.stuck_data_bit
        return value | bit if self.stuck_level else value & ~bit

    def id_answer(self, healthy: bytes) -> bytes:
        answer = bytearray(self.id_bytes if self.id_bytes is not None else healthy)
        if self.kgd is not None:
            answer[1] = self.kgd
        return bytes(answer)

    def describe(self) -> str:
        parts = []
        if self.absent:
            parts.append("absent")
        if self.id_bytes is not None:
            parts.append("id " + self.id_bytes.hex(" "))
        if self.kgd is not None:
            parts.append(f"kgd 0x{self.kgd:02x}")
        if self.stuck_data_bit is not None:
            parts.append(f"data bit {self.stuck_data_bit} stuck at {self.stuck_level}")
        if self.shorted_address_lines is not None:
            parts.append("address bits {} and {} shorted".format(*self.shorted_address_lines))
        if self.narrow_write_zero:
            parts.append("narrow-write-zero")
        return ", ".join(parts) or "none"

    # -- command line --------------------------------------------------------------
    @classmethod
    def from_cli(cls, specs: list[str] | tuple[str, ...], *, source: str = "--fault") -> "PsramFaults":
        """Parse `--fault` values; a bad value raises InputError naming it."""
        fields: dict[str, object] = {}
        for spec in specs:
            name, _, arg = spec.strip().partition("=")
            name = name.strip().lower()
            try:
                if name == "absent" and not arg:
                    fields["absent"] = True
                elif name == "wrong-id":
                    fields["id_bytes"] = bytes.fromhex(arg) if arg else WRONG_ID
                    if len(fields["id_bytes"]) != 8:  # type: ignore[arg-type]
                        raise ValueError("needs 8 hex bytes")
                elif name == "bad-kgd" and not arg:
                    fields["kgd"] = KGD_FAIL
                elif name == "stuck-bit" and arg:
                    bit, _, level = arg.partition(":")
                    fields["stuck_data_bit"] = int(bit, 0)
                    fields["stuck_level"] = int(level, 0) if level else 0
                elif name == "short" and arg:
                    a, b = (int(x, 0) for x in arg.split(","))
                    fields["shorted_address_lines"] = (a, b)
                elif name == "narrow-write-zero" and not arg:
                    fields["narrow_write_zero"] = True
                else:
                    raise ValueError("unknown fault")
            except ValueError as err:
                raise InputError(f"{source} {spec!r}: {err}; expected {CLI_FORMS}") from None
        try:
            return cls(**fields)  # type: ignore[arg-type]
        except InputError as err:
            detail = str(err).removeprefix("psram fault: ")
            raise InputError(f"{source} {' '.join(specs)}: {detail}") from None
