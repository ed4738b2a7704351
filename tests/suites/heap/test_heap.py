"""The GC heap: size, one 8 MB object, a pattern over a large buffer, and gc.collect() time."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import pytest

from h7psram.twister.raw_repl import Repl

BIG = 8_000_000
#: the bytearray object and its GC block rounding cost a little over its length
ALLOCATION_SLACK = 4096


@pytest.fixture
def heap_mode(dut) -> Optional[str]:  # type: ignore[no-untyped-def]
    """'split' or 'single' from the build's CMake cache; None when no build is known."""
    build_dir = getattr(dut.device_config, "build_dir", None)
    if not build_dir:
        return None
    from h7psram.build import read_cmake_cache

    return read_cmake_cache(Path(build_dir)).get("H7PSRAM_HEAP", "split")


def test_mem_free_covers_the_psram(repl: Repl, heap_mode: Optional[str], record_property) -> None:  # type: ignore[no-untyped-def]
    free = repl.eval("__import__('gc').mem_free()")
    record_property("mem_free", free)
    # split: PSRAM (8 MiB) plus the internal AXI SRAM; single: the PSRAM window alone
    floor = 9_000_000 if heap_mode == "split" else 8_000_000
    assert free > floor, f"gc.mem_free() = {free}, expected more than {floor} ({heap_mode or 'unknown'} heap)"


def test_8_mb_bytearray_fits_and_costs_what_it_should(repl: Repl, record_property) -> None:  # type: ignore[no-untyped-def]
    out = repl.exec(
        "import gc\n"
        "gc.collect()\n"
        "before = gc.mem_free()\n"
        f"a = bytearray({BIG})\n"
        "print(before, gc.mem_free(), len(a))\n")
    before, after, length = (int(word) for word in out.split())
    record_property("mem_free_before", before)
    record_property("mem_free_after", after)
    assert length == BIG
    used = before - after
    assert BIG <= used <= BIG + ALLOCATION_SLACK, f"free {before} -> {after}: used {used}"


@pytest.fixture
def pattern_bytes(dut) -> int:  # type: ignore[no-untyped-def]
    # PSRAM writes go through a non-bufferable MPU region, one OCTOSPI transaction per store;
    # the simulator models each of them, which makes a store there slow in wall time. Larger
    # than the internal heap either way, so the buffer has to live in the PSRAM. ('custom' is
    # `west build -t run`, the simulator, under either plugin.)
    simulated = dut.device_config.type in ("sim", "custom")
    return 2 * 1024 * 1024 if simulated else 6 * 1024 * 1024


def test_pattern_over_a_large_buffer_reads_back(repl: Repl, pattern_bytes: int) -> None:
    # Each 4 KiB block gets a pattern plus its own index, so a write landing in the wrong
    # block (address aliasing) is caught as well as flipped bits.
    out = repl.exec(
        "import struct, uctypes\n"
        f"n = {pattern_bytes}\n"
        "buf = bytearray(n)\n"
        "pat = bytes(range(256)) * 16\n"
        "for i in range(0, n, 4096):\n"
        "    buf[i:i + 4096] = pat\n"
        "    struct.pack_into('<I', buf, i, i ^ 0xA5A5A5A5)\n"
        "bad = 0\n"
        "for i in range(0, n, 4096):\n"
        "    if struct.unpack_from('<I', buf, i)[0] != i ^ 0xA5A5A5A5 or buf[i + 4:i + 4096] != pat[4:]:\n"
        "        bad += 1\n"
        "print(bad, n // 4096, uctypes.addressof(buf))\n", timeout=300)
    bad, blocks, address = (int(word) for word in out.split())
    assert 0x90000000 <= address < 0x90800000, f"buffer at {address:#x}: not in the PSRAM window"
    assert blocks == pattern_bytes // 4096
    assert bad == 0, f"{bad} of {blocks} blocks did not read back"


def test_gc_collect_time_is_recorded(repl: Repl, record_property) -> None:  # type: ignore[no-untyped-def]
    out = repl.exec(
        "import gc, time\n"
        "keep = [bytearray(1000) for _ in range(2000)]\n"
        "t = time.ticks_us()\n"
        "gc.collect()\n"
        "print(time.ticks_diff(time.ticks_us(), t), gc.mem_alloc())\n")
    elapsed, allocated = (int(word) for word in out.split())
    record_property("gc_collect_us", elapsed)
    record_property("gc_mem_alloc", allocated)
    print(f"gc.collect() with {allocated} bytes live: {elapsed} us (device clock)")
    assert allocated > 2_000_000  # the 2000 live buffers were really there to be marked
