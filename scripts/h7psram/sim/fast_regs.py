"""Fast register access for the exception path: the C batch calls with preallocated buffers.

The Python binding's reg_read_batch rebuilds its argument arrays and picks a
value class per register on every call (about 20 us for ten registers on
the measured host); exception entry/return needs four such calls, once per
SysTick. All registers used here are 32-bit on this core.
"""
from __future__ import annotations

import ctypes
from typing import Sequence

from typing import Any, Callable

from unicorn import UcError
from unicorn.unicorn_py3.unicorn import MMIO_READ_CFUNC, MMIO_WRITE_CFUNC, uclib


class RegBatch:
    def __init__(self, uc, reg_ids: Sequence[int]) -> None:
        self._uch = uc._uch
        self.count = len(reg_ids)
        self._ids = (ctypes.c_int * self.count)(*reg_ids)
        self._vals = (ctypes.c_uint32 * self.count)()
        base = ctypes.addressof(self._vals)
        self._ptrs = (ctypes.c_void_p * self.count)(*(base + 4 * i for i in range(self.count)))

    def read(self) -> tuple[int, ...]:
        status = uclib.uc_reg_read_batch(self._uch, self._ids, self._ptrs, self.count)
        if status:
            raise RuntimeError(f"uc_reg_read_batch failed ({status})")
        return tuple(self._vals)

    def write(self, values: Sequence[int]) -> None:
        vals = self._vals
        for i, v in enumerate(values):
            vals[i] = v & 0xFFFFFFFF
        status = uclib.uc_reg_write_batch(self._uch, self._ids, self._ptrs, self.count)
        if status:
            raise RuntimeError(f"uc_reg_write_batch failed ({status})")


class Reg:
    """One register through the C API with a reusable buffer."""

    def __init__(self, uc, reg_id: int) -> None:
        self._uch = uc._uch
        self._id = reg_id
        self._val = ctypes.c_uint32()
        self._ptr = ctypes.cast(ctypes.pointer(self._val), ctypes.c_void_p)

    def read(self) -> int:
        uclib.uc_reg_read(self._uch, self._id, self._ptr)
        return self._val.value

    def write(self, value: int) -> None:
        self._val.value = value & 0xFFFFFFFF
        uclib.uc_reg_write(self._uch, self._id, self._ptr)


def mmio_map_direct(uc, base: int, size: int, read: Callable[[int, int], int],
                    write: Callable[[int, int, int], None]) -> tuple[Any, Any]:
    """uc_mmio_map with plain ctypes thunks: read(offset, size), write(offset, size, value).

    The binding's mmio_map adds two Python frames per access (its exception
    catcher and an adapter); the callbacks given here must not raise. Keep the
    returned thunks referenced for as long as the mapping exists.
    """
    read_thunk = MMIO_READ_CFUNC(lambda handle, offset, sz, ud: read(offset, sz))
    write_thunk = MMIO_WRITE_CFUNC(lambda handle, offset, sz, value, ud: write(offset, sz, value))
    return _map(uc, base, size, read_thunk, write_thunk)


def mmio_map_raw(uc, base: int, size: int, read: Callable[..., int], write: Callable[..., None]) -> tuple[Any, Any]:
    """Like mmio_map_direct, for callbacks taking the C arguments themselves:
    read(handle, offset, size, user_data) and write(handle, offset, size, value, user_data)."""
    return _map(uc, base, size, MMIO_READ_CFUNC(read), MMIO_WRITE_CFUNC(write))


def _map(uc, base: int, size: int, read_thunk: Any, write_thunk: Any) -> tuple[Any, Any]:
    status = uclib.uc_mmio_map(uc._uch, base, size, read_thunk, None, write_thunk, None)
    if status:
        raise UcError(status)
    return read_thunk, write_thunk
