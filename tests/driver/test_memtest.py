"""psram_memtest.c on a host buffer: passes on good memory, and reports the
first failing access exactly when the buffer is corrupted between the write
and the read phase (through the sync hook)."""
from __future__ import annotations

import ctypes

import pytest

from driver_host import SYNC_FN, MemtestResult

QUICK, FULL = 0, 1
NONE, WALK1, WALK0, ADDR_LINES, PAT8, PAT16, PAT32, ADDR_IN_ADDR, BAD_ARGS, ST8, ST16, ST32, ST64 = range(13)
STORES = (ST8, ST16, ST32, ST64)
SIZE = 1 << 20   # 1 MiB: same code paths as 8 MiB, a fraction of the time


def run(lib, buf, mode=FULL, hook=None, size=None):
    res = MemtestResult()
    calls = []

    def sync(ctx, kind, base, length):
        calls.append((kind, base - ctypes.addressof(buf), length))
        if hook is not None:
            hook(kind, base - ctypes.addressof(buf), length)

    cb = SYNC_FN(sync)
    kind = lib.psram_memtest_run(ctypes.addressof(buf), len(buf) if size is None else size, mode, cb, None,
                                 ctypes.byref(res))
    assert kind == res.kind
    return res, calls


@pytest.fixture
def buf():
    return (ctypes.c_uint8 * SIZE)()


def u32(buf, off):
    return int.from_bytes(bytes(buf[off:off + 4]), "little")


@pytest.mark.parametrize("mode", [QUICK, FULL])
def test_good_memory_passes(psramlib, buf, mode):
    res, calls = run(psramlib, buf, mode)
    assert res.kind == NONE
    kinds = {k for k, _, _ in calls}
    expected = {WALK1, WALK0, ADDR_LINES, PAT8, PAT16, PAT32, *STORES} | ({ADDR_IN_ADDR} if mode == FULL else set())
    assert kinds == expected
    if mode == FULL:
        # every pattern covered the whole buffer, after the quick samples
        full = [(k, o, n) for k, o, n in calls if k in (PAT8, PAT16, PAT32) and n == SIZE]
        assert {c for c in full} == {(k, 0, SIZE) for k in (PAT8, PAT16, PAT32)}
        first_full = calls.index(full[0])
        assert all(n == 4096 for k, _, n in calls[:first_full] if k in (PAT8, PAT16, PAT32))
        # the last pass left every word holding the complement of its offset
        assert u32(buf, 0x1234 * 4) == (~(0x1234 * 4)) & 0xFFFFFFFF
        assert res.tests_run == 2 + 5 + 1 + 3 * 6 + 6 + 2
    else:
        assert max(n for k, _, n in calls if k in (PAT8, PAT16, PAT32)) == 4096
        assert res.tests_run == 2 + 5 + 1 + 3 * 6


def test_names(psramlib):
    assert psramlib.psram_memtest_name(PAT16) == b"memtest16"
    assert psramlib.psram_memtest_name(PAT8) == b"memtest8"
    assert psramlib.psram_memtest_name(PAT32) == b"memtest32"
    assert psramlib.psram_memtest_name(ADDR_IN_ADDR) == b"addrtest"
    assert [psramlib.psram_memtest_name(k) for k in STORES] == [b"store8", b"store16", b"store32", b"store64"]


def test_pattern16_failure_reports_first_bad_halfword(psramlib, buf):
    bad = 0x3E2070

    def hook(kind, off, n):
        if kind == PAT16 and n == SIZE:      # the full-size pass
            buf[bad % SIZE] = 0x00
            buf[bad % SIZE + 1] = 0x00
    res, _ = run(psramlib, buf, FULL, hook)
    assert res.kind == PAT16
    assert res.width == 16
    assert res.offset == bad % SIZE
    assert res.address == ctypes.addressof(buf) + bad % SIZE
    assert (res.written, res.read) == (0x5A5A, 0x0000)


def test_pattern8_failure_second_value(psramlib, buf):
    state = {"n": 0}

    def hook(kind, off, n):
        if kind == PAT8 and n == SIZE:
            state["n"] += 1
            if state["n"] == 2:       # the full 0x5A pass, after 0xA5 succeeded
                buf[0x777] = 0x7A
    res, _ = run(psramlib, buf, FULL, hook)
    assert (res.kind, res.width, res.offset, res.written, res.read) == (PAT8, 8, 0x777, 0x5A, 0x7A)


def test_pattern32_failure(psramlib, buf):
    def hook(kind, off, n):
        if kind == PAT32:
            buf[0x1000 + 2] ^= 0x10
    res, _ = run(psramlib, buf, FULL, hook)
    assert (res.kind, res.width, res.offset, res.written, res.read) == \
           (PAT32, 32, 0x1000, 0xA5A5A5A5, 0xA5B5A5A5)


def test_stuck_data_bit_found_by_walking_ones(psramlib, buf):
    def hook(kind, off, n):
        for i in range(off, off + n):
            buf[i] &= ~0x08 & 0xFF       # IO3 stuck low: bit 3 of every byte
    res, _ = run(psramlib, buf, QUICK, hook)
    assert (res.kind, res.width, res.offset, res.written, res.read) == (WALK1, 32, 0, 0x8, 0x0)


def test_stuck_high_data_bit_found_by_walking_zeros(psramlib, buf):
    def hook(kind, off, n):
        if kind == WALK0:
            buf[off + 2] |= 0x01         # bit 16 of the word stuck high
    res, _ = run(psramlib, buf, QUICK, hook)
    assert (res.kind, res.offset, res.written, res.read) == (WALK0, 0, 0xFFFEFFFF, 0xFFFFFFFF)


def test_aliased_address_line_found_by_address_line_test(psramlib, buf):
    # A16 stuck low: 0x10000 is the same cell as 0; after the base is written
    # with the anti-pattern, the 0x10000 marker shows it too
    def hook(kind, off, n):
        if kind == ADDR_LINES and (off, n) == (0, 4):
            buf[0x10000:0x10004] = buf[0:4]
    res, _ = run(psramlib, buf, QUICK, hook)
    assert (res.kind, res.offset, res.written, res.read) == (ADDR_LINES, 0x10000, 0xAAAAAAAA, 0x55555555)


def test_aliasing_found_by_address_in_address(psramlib, buf):
    # A20 of a 2 MiB range shorted to A19 would alias; here emulate "the upper
    # half mirrors the lower half" only in the address-in-address pass
    half = SIZE // 2

    def hook(kind, off, n):
        if kind == ADDR_IN_ADDR:
            buf[0:half] = buf[half:SIZE]
    res, _ = run(psramlib, buf, FULL, hook)
    assert (res.kind, res.width, res.offset, res.written, res.read) == (ADDR_IN_ADDR, 32, 0, 0, half)


def test_sampled_spans_fail_before_the_full_pass(psramlib, buf):
    # a fault in the middle span (across a page boundary) is reported by the
    # sampled pass that the full mode runs first, before any 1 MiB write
    calls_seen = []

    def hook(kind, off, n):
        calls_seen.append((kind, n))
        if kind == PAT32 and off == SIZE // 2 - 2048:
            buf[SIZE // 2] ^= 0x01
    res, _ = run(psramlib, buf, FULL, hook)
    assert (res.kind, res.offset, res.written, res.read) == (PAT32, SIZE // 2, 0xA5A5A5A5, 0xA5A5A5A4)
    assert not [c for c in calls_seen if c[0] in (PAT8, PAT16, PAT32) and c[1] == SIZE]


def test_quick_mode_only_looks_at_its_samples(psramlib, buf):
    # damage outside the three quick spans is not seen by the quick test
    # (it is by the full one)
    def hook(kind, off, n):
        if kind == PAT32:
            buf[SIZE // 4] ^= 0xFF
    assert run(psramlib, buf, QUICK, hook)[0].kind == NONE
    assert run(psramlib, buf, FULL, hook)[0].kind == PAT32


@pytest.mark.parametrize("size", [0, 32, 3 << 16])
def test_bad_arguments(psramlib, buf, size):
    res, calls = run(psramlib, buf, FULL, size=size)
    assert res.kind == BAD_ARGS and calls == []


# -- store widths ---------------------------------------------------------------------------
SPAN = 64
BOUNDARIES = (SIZE // 2, SIZE // 2 + SPAN)      # a 1 KiB page (and line) boundary, a line boundary


def background(i):
    return 0x40 + (i & 0x3F)


def test_store_widths_cover_every_alignment_around_both_boundaries(psramlib, buf):
    res, calls = run(psramlib, buf, QUICK)
    assert res.kind == NONE
    regions = {k: [o for kk, o, n in calls if kk == k and n == SPAN] for k in STORES}
    # two syncs per case (background, then the store); 64-bit: the aligned double word below
    # the boundary, and the word-aligned one across it
    assert len(regions[ST64]) == 2 * 2 * 2
    for k in (ST8, ST16, ST32):
        assert len(regions[k]) == 2 * 2 * 8
    assert set(regions[ST8]) == {b - SPAN // 2 for b in BOUNDARIES}
    # the store test runs before the address lines, after the data lines
    order = [k for k, _, _ in calls]
    assert order.index(WALK0) < order.index(ST64) < order.index(ST8) < order.index(ADDR_LINES)


def narrow_write_zero(buf):
    """What the hazard does to the chip: a write that covers only part of a double word zeroes
    the rest of it. Emulated in the sync after the store: bytes that differ from the background
    were stored; the other bytes of double words stored only in part become 0."""
    def hook(kind, off, n):
        if kind not in STORES or n != SPAN:
            return
        changed = [i for i in range(n) if buf[off + i] != background(i)]
        for dw in {i & ~7 for i in changed}:     # none in the sync after the background
            for i in range(dw, dw + 8):
                if i not in changed:
                    buf[off + i] = 0
    return hook


def test_narrow_write_zero_is_reported_at_the_first_clobbered_byte(psramlib, buf):
    res, _ = run(psramlib, buf, QUICK, narrow_write_zero(buf))
    # aligned 64-bit stores pass; the first 32-bit store (lane 0 of the double word below the
    # middle) zeroed lanes 4..7: the first of them is reported, with the background it lost
    lost = SIZE // 2 - 4
    assert (res.kind, res.width, res.offset, res.written, res.read) == (ST32, 8, lost, background(SPAN // 2 - 4), 0)
    assert res.tests_run == 2 + 2


def test_64_bit_store_across_double_words_is_two_narrow_writes(psramlib, buf):
    # only the straddling STRD case is damaged: it is the last store case, after 8..32 bits passed
    def hook(kind, off, n):
        if kind == ST64 and n == SPAN and buf[off + SPAN // 2 - 4] != background(SPAN // 2 - 4) \
                and buf[off + SPAN // 2 - 8] == background(SPAN // 2 - 8):
            for i in range(SPAN // 2 - 8, SPAN // 2 - 4):
                buf[off + i] = 0
    res, _ = run(psramlib, buf, QUICK, hook)
    assert (res.kind, res.offset, res.written, res.read) == (ST64, SIZE // 2 - 8, background(SPAN // 2 - 8), 0)
    assert res.tests_run == 2 + 5


def test_lost_64_bit_store_is_reported_as_store64(psramlib, buf):
    def hook(kind, off, n):
        if kind == ST64 and n == SPAN and buf[off + SPAN // 2 - 8] != background(SPAN // 2 - 8):
            buf[off + SPAN // 2 - 8 + 5] = 0x7F       # one byte of the stored double word lost
    res, _ = run(psramlib, buf, QUICK, hook)
    assert (res.kind, res.width, res.offset, res.written, res.read) == (ST64, 8, SIZE // 2 - 3, 0xC1 + 5, 0x7F)


def test_store_that_does_not_reach_the_chip_is_found(psramlib, buf):
    # a write lost on the way (the byte keeps its background): reported at the stored byte
    def hook(kind, off, n):
        if kind == ST8 and n == SPAN:
            for i in range(n):
                if buf[off + i] != background(i):
                    buf[off + i] = background(i)
    res, _ = run(psramlib, buf, QUICK, hook)
    at = SIZE // 2 - 8
    assert (res.kind, res.offset, res.written, res.read) == (ST8, at, 0xC1, background(SPAN // 2 - 8))


def test_small_buffer_uses_one_boundary(psramlib, buf):
    res, calls = run(psramlib, buf, QUICK, size=128)
    assert res.kind == NONE
    assert {o for k, o, n in calls if k == ST8} == {32}
