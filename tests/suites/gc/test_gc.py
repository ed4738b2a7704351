"""Deep structures of several MiB survive gc.collect() intact.

A chain `lst = [lst]` has one 32-byte node per link, each reachable only through the previous
one, so marking it goes through the mark stack block by block: with mark-stack entries too
narrow for the heap area (16-bit on a 9 MB heap) the chain breaks at the first MiB of an area.
"""

from __future__ import annotations

import pytest

from h7psram.twister.raw_repl import Repl

#: 150 000 nodes of 32 bytes = 4.6 MiB in one reachable structure: past the internal area
#: (about 1 MiB) and more than 3 MiB into the PSRAM area in the split heap
CHAIN = 150_000

WALK = (
    "def walk(node):\n"
    "    d = 0\n"
    "    while node:\n"
    "        if type(node) is not list or len(node) != 1:\n"
    "            break\n"
    "        node = node[0]\n"
    "        d += 1\n"
    "    return d\n")


def test_module_level_chain_survives_collect(repl: Repl) -> None:
    out = repl.exec(
        "import gc\n" + WALK +
        f"N = {CHAIN}\n"
        "gc.collect()\n"
        "lst = []\n"
        "for i in range(N):\n"
        "    lst = [lst]\n"
        "gc.collect()\n"
        "gc.collect()\n"
        "print(walk(lst), gc.mem_alloc())\n", timeout=600)
    depth, alloc = (int(w) for w in out.split())
    assert alloc > CHAIN * 32, f"only {alloc} bytes live: the chain was not all there"
    assert depth == CHAIN, f"chain of {CHAIN} broken at depth {depth} after gc.collect()"


def test_chain_local_to_a_function_survives_collect(repl: Repl) -> None:
    # only the C stack and the function's locals root the chain here
    out = repl.exec(
        "import gc\n" + WALK +
        "def build(n):\n"
        "    lst = []\n"
        "    for i in range(n):\n"
        "        lst = [lst]\n"
        "    gc.collect()\n"
        "    junk = [bytearray(64) for _ in range(2000)]\n"
        "    junk = None\n"
        "    gc.collect()\n"
        "    return walk(lst)\n"
        f"print(build({CHAIN}))\n", timeout=600)
    assert int(out) == CHAIN, f"chain of {CHAIN} broken at depth {out.strip()} inside a function"
