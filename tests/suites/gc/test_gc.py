"""GC stress suite: what the collector must keep, keeps its contents, on a heap of 9 MB.

Each test builds its structures on the device, collects, then overwrites every free block
(`scribble`) before checking: a live object that a collection freed by mistake is then
visibly damaged instead of still holding its old bytes. The structures are large enough
to reach more than 1 MiB into a heap area, where a 16-bit mark-stack entry can no longer
index a block (issue 20, docs/gc.md).
"""

from __future__ import annotations

import os

import pytest

from h7psram.twister.raw_repl import Repl

#: operations of the random allocate/free soak: the CI default keeps the simulator run short,
#: a board can take a much longer one (H7PSRAM_GC_SOAK_OPS=200000)
SOAK_OPS = int(os.environ.get("H7PSRAM_GC_SOAK_OPS", "1000"))
SOAK_SEED = int(os.environ.get("H7PSRAM_GC_SOAK_SEED", "20"))

#: the simulator is much slower than the chip; this covers a loaded CI machine
TIMEOUT = 900

#: device-side helpers sent ahead of each test's code
PRELUDE = """\
import gc
PSRAM = 0x90000000
def walk(node):
    d = 0
    while node:
        if type(node) is not list or len(node) != 1:
            break
        node = node[0]
        d += 1
    return d
def scribble():
    # occupy every free block, then let go: 1 MiB buffers while they fit, then one-block tuples
    # (a one-block request takes the first free block, so this costs one step per block; smaller
    # buffers would rescan the heap from its first hole on every request). Collection is off:
    # the fill frees nothing and costs no collection.
    gc.disable()
    junk = None
    try:
        while True:
            junk = (junk, bytearray(1 << 20))
    except MemoryError:
        pass
    try:
        while True:
            junk = (junk, 0)
    except MemoryError:
        pass
    junk = None
    gc.enable()
def ballast(offset):
    # flat 16 KiB buffers until one starts `offset` bytes into the PSRAM window: what a test
    # builds afterwards lies beyond the first MiB of the PSRAM area, in either heap mode
    held = []
    while True:
        b = bytearray(16384)
        held.append(b)
        if id(b) >= PSRAM + offset:
            return held
"""


def run(repl: Repl, code: str) -> str:
    return repl.exec(PRELUDE + code, timeout=TIMEOUT)


def values(out: str) -> dict[str, int]:
    """``name=value`` words printed by the device code."""
    return {k: int(v) for k, v in (w.split("=") for w in out.split() if "=" in w)}


#: Building a chain until MemoryError runs with automatic collection off: with the heap full,
#: every failed allocation (the MemoryError's own message and traceback too) would collect the
#: whole heap again, minutes on the simulator. One gc.collect() at the full heap does the same
#: marking. A function call at the full heap keeps its frame on the C stack (the heap attempt
#: fails at once with collection off).
FILL = (
    "gc.disable()\n"
    "try:\n"
    "    while True:\n"
    "        lst = [lst]\n"
    "        n += 1\n"
    "except MemoryError:\n"
    "    pass\n"
    "gc.collect()\n"
    "full = walk(lst)\n"
    "node = lst\n"
    "k = 1\n"
    "while k < n // 2:\n"
    "    node = node[0]\n"
    "    k += 1\n"
    "node[0] = None\n"
    "node = None\n"
    "gc.enable()\n"
    "gc.collect()\n"
    "freed = gc.mem_free()\n"
    "scribble()\n"
    "half = walk(lst)\n")


def check_capacity_chain(v: dict[str, int]) -> None:
    n, half = v["n"], v["n"] // 2
    assert n * 32 > v["free0"] * 0.97, f"only {n} nodes of 32 bytes in {v['free0']} free bytes"
    assert v["full"] == n, f"chain of {n} (the heap full) broken at depth {v['full']} by gc.collect()"
    # what the test's own globals and the MemoryError took is a few KiB of the free memory
    assert v["freed"] >= (n - half) * 32 - 16384, f"{n - half} nodes cut off but only {v['freed']} bytes free"
    assert v["half"] == half, f"chain of {half} after the cut broken at depth {v['half']}"


def test_chain_to_capacity_at_module_level(repl: Repl) -> None:
    # `lst = [lst]` until the heap is full, so one collection marks the whole heap through one
    # chain; then cut it in half, collect, scribble and walk it again
    out = run(repl,
        "gc.collect()\n"
        "free0 = gc.mem_free()\n"
        "n = full = freed = half = k = 0\n"
        "node = None\n"
        "lst = []\n" + FILL +
        "print('free0=%d n=%d full=%d freed=%d half=%d' % (free0, n, full, freed, half))\n")
    check_capacity_chain(values(out))


def test_chain_to_capacity_in_a_function(repl: Repl) -> None:
    # the same with the chain local to a function: only the C stack and the frame root it
    body = "".join("    " + line + "\n" for line in FILL.splitlines())
    out = run(repl,
        "gc.collect()\n"
        "free0 = gc.mem_free()\n"
        "def build():\n"
        "    n = 0\n"
        "    lst = []\n" + body +
        "    return n, full, freed, half\n"
        "print('free0=%d n=%d full=%d freed=%d half=%d' % ((free0,) + build()))\n")
    check_capacity_chain(values(out))


def test_wide_tree_and_wide_list(repl: Repl) -> None:
    # 16-way tree of depth 4 (65 536 leaves, each a tuple and a string) and one list of 100 000
    # objects: marking pushes far more children than the 64-entry mark stack holds, so the
    # collector's overflow rescan is part of every collection here
    out = run(repl,
        "def tree(depth, path):\n"
        "    if depth == 0:\n"
        "        return (path, str(path))\n"
        "    return [tree(depth - 1, path * 16 + k) for k in range(16)]\n"
        "def check(node, depth, path):\n"
        "    if depth == 0:\n"
        "        return 1 if node[0] == path and node[1] == str(path) else 0\n"
        "    if type(node) is not list or len(node) != 16:\n"
        "        return 0\n"
        "    return sum(check(node[k], depth - 1, path * 16 + k) for k in range(16))\n"
        "t = tree(4, 1)\n"
        "w = [(i, -i) for i in range(100000)]\n"
        "gc.collect()\n"
        "scribble()\n"
        "bad = sum(1 for i in range(100000) if w[i] != (i, -i))\n"
        "print('leaves=%d wbad=%d alloc=%d' % (check(t, 4, 1), bad, gc.mem_alloc()))\n")
    v = values(out)
    assert v["alloc"] > 3_000_000, f"only {v['alloc']} bytes live: the structures are too small"
    assert v["leaves"] == 16 ** 4, f"{16 ** 4 - v['leaves']} of 65536 tree leaves lost or damaged"
    assert v["wbad"] == 0, f"{v['wbad']} of 100000 items of the wide list damaged"


def test_references_across_the_internal_and_psram_areas(repl: Repl) -> None:
    # Split heap: an internal AXI SRAM area, then the PSRAM area. Nodes `[next, k]` are made
    # until the internal area is full, as many again in the PSRAM (past a ballast), and then
    # linked so that the chain alternates: every link points from one area into the other.
    mode = run(repl, "print('single' if id([]) >= PSRAM else 'split')\n").strip()
    if mode == "single":
        pytest.skip("single heap: the heap has no internal-RAM area")
    out = run(repl,
        "def build():\n"
        "    ins = [None] * 40000\n"
        "    a = 0\n"
        "    while a < len(ins):\n"
        "        node = [None, a]\n"
        "        if id(node) >= PSRAM:\n"
        "            break\n"
        "        ins[a] = node\n"
        "        a += 1\n"
        "    node = None\n"
        "    keep = ballast(3 << 19)\n"
        "    outs = [[None, k] for k in range(a)]\n"
        "    for k in range(a):\n"
        "        ins[k][0] = outs[k]\n"
        "        if k + 1 < a:\n"
        "            outs[k][0] = ins[k + 1]\n"
        "    return ins[0], keep\n"
        "head, keep = build()\n"
        "gc.collect()\n"
        "scribble()\n"
        "def check(node):\n"
        "    steps = internal = cross = bad = 0\n"
        "    while node is not None:\n"
        "        if type(node) is not list or len(node) != 2 or node[1] != steps // 2:\n"
        "            bad += 1\n"
        "            break\n"
        "        here = id(node) >= PSRAM\n"
        "        internal += not here\n"
        "        if node[0] is not None and (id(node[0]) >= PSRAM) != here:\n"
        "            cross += 1\n"
        "        node = node[0]\n"
        "        steps += 1\n"
        "    return steps, internal, cross, bad\n"
        "print('steps=%d internal=%d cross=%d bad=%d' % check(head))\n")
    v = values(out)
    assert v["bad"] == 0, f"chain damaged at node {v['steps']}"
    assert v["internal"] > 10_000, f"only {v['internal']} chain nodes in internal RAM"
    assert v["steps"] == 2 * v["internal"], f"{v['steps']} nodes, {v['internal']} of them internal"
    assert v["cross"] >= v["steps"] - 2, f"only {v['cross']} of {v['steps'] - 1} links cross the areas"


def test_full_heap_raises_memoryerror_and_recovers(repl: Repl) -> None:
    # Fill the heap to the last block with tagged buffers of falling sizes; MemoryError must be
    # an ordinary exception, a collection with everything live must free nothing, and freeing
    # must give all the memory back (a 7 MiB buffer fits again).
    # Filling runs with automatic collection off (at a full heap every failed allocation would
    # collect again); then one allocation with it on must collect, find nothing, and raise.
    # Everything the code needs later exists before the heap is full.
    out = run(repl,
        "gc.collect()\n"
        "free0 = gc.mem_free()\n"
        "slots = [None] * 2000\n"
        "n = errors = full = still = after_collect = half = bad = back = big = i = 0\n"
        "x = b = None\n"
        "def tagged(i):\n"
        "    b = slots[i]\n"
        "    return b is not None and b[0] == i & 255 and b[-1] == (i >> 8) & 255\n"
        "gc.disable()\n"
        "for size in (1 << 20, 1 << 16, 1 << 12, 256, 16):\n"
        "    while n < len(slots):\n"
        "        try:\n"
        "            b = bytearray(size)\n"
        "        except MemoryError:\n"
        "            errors += 1\n"
        "            break\n"
        "        b[0] = n & 255\n"
        "        b[-1] = (n >> 8) & 255\n"
        "        slots[n] = b\n"
        "        n += 1\n"
        "b = None\n"
        "gc.enable()\n"
        "full = gc.mem_free()\n"
        "try:\n"
        "    x = [0] * 64\n"
        "except MemoryError:\n"
        "    still = 1\n"
        "gc.collect()\n"
        "after_collect = gc.mem_free()\n"
        "while i < n:\n"
        "    slots[i] = None\n"
        "    i += 2\n"
        "gc.collect()\n"
        "half = gc.mem_free()\n"
        "scribble()\n"
        "bad = sum(1 for i in range(1, n, 2) if not tagged(i))\n"
        "slots = None\n"
        "gc.collect()\n"
        "back = gc.mem_free()\n"
        "big = len(bytearray(7 << 20))\n"
        "print('free0=%d n=%d errors=%d full=%d still=%d after_collect=%d half=%d bad=%d back=%d big=%d' % "
        "(free0, n, errors, full, still, after_collect, half, bad, back, big))\n")
    v = values(out)
    assert v["errors"] == 5, f"MemoryError seen {v['errors']} times, once per size expected"
    assert v["full"] < 4096 and v["still"] == 1, f"heap not full: {v['full']} bytes free"
    assert v["after_collect"] < 4096, \
        f"gc.collect() with everything live freed {v['after_collect'] - v['full']} bytes"
    assert v["half"] > v["free0"] * 0.4, f"half the buffers dropped, only {v['half']} bytes free"
    assert v["bad"] == 0, f"{v['bad']} of the kept buffers damaged"
    assert v["back"] > v["free0"] - 4096, f"free {v['free0']} before, {v['back']} after"
    assert v["big"] == 7 << 20


def test_finalisers_and_weak_references(repl: Repl) -> None:
    # weakref.finalize callbacks and weakref.ref (MICROPY_PY_WEAKREF, enabled by the boards)
    # for 2000 objects past the first MiB of the PSRAM area: the 1000 kept in a chain stay
    # reachable with their contents and are never finalised, the dropped ones are finalised
    # once. Then a file (native finaliser, MICROPY_ENABLE_FINALISER) dropped without close()
    # is closed by the collector. Objects are made inside functions: a stale pointer left in
    # the module's own frame would keep a dropped one alive (the stack is scanned conservatively).
    out = run(repl,
        "import weakref, os\n"
        "N = 2000\n"
        "calls = bytearray(N)\n"
        "def done(i):\n"
        "    calls[i] += 1\n"
        "def setup():\n"
        "    keep = ballast(3 << 19)\n"
        "    objs = [[i, str(i)] for i in range(N)]\n"
        "    refs = [weakref.ref(o) for o in objs]\n"
        "    for i in range(N):\n"
        "        weakref.finalize(objs[i], done, i)\n"
        "    kept = None\n"
        "    for i in range(1, N, 2):\n"
        "        kept = (kept, objs[i])\n"
        "    return refs, kept, keep\n"
        "refs, kept, keep = setup()\n"
        "gc.collect()\n"
        "scribble()\n"
        "live_final = sum(1 for i in range(1, N, 2) if calls[i])\n"
        "twice = sum(1 for i in range(N) if calls[i] > 1)\n"
        "alive = sum(1 for i in range(1, N, 2) if refs[i]() == [i, str(i)])\n"
        "gone = sum(1 for i in range(0, N, 2) if calls[i] == 1 and refs[i]() is None)\n"
        "odd = sum(1 for i in range(0, N, 2) if (calls[i] == 1) != (refs[i]() is None))\n"
        "kept = None\n"
        "gc.collect()\n"
        "later = sum(1 for i in range(1, N, 2) if calls[i] == 1 and refs[i]() is None)\n"
        "def write_two():\n"
        "    f = open('gcfin0.txt', 'w')\n"
        "    f.write('x' * 100)\n"
        "    g = open('gcfin1.txt', 'w')\n"
        "    g.write('y' * 100)\n"
        "    return g\n"
        "g = write_two()\n"
        "gc.collect()\n"
        "closed = os.stat('gcfin0.txt')[6]\n"
        "opened = os.stat('gcfin1.txt')[6]\n"
        "g.close()\n"
        "os.remove('gcfin0.txt')\n"
        "os.remove('gcfin1.txt')\n"
        "print('live_final=%d twice=%d alive=%d gone=%d odd=%d later=%d closed=%d opened=%d' % "
        "(live_final, twice, alive, gone, odd, later, closed, opened))\n")
    v = values(out)
    assert v["live_final"] == 0 and v["twice"] == 0, \
        f"finalisers ran for {v['live_final']} live objects, twice for {v['twice']}"
    assert v["alive"] == 1000, f"only {v['alive']} of 1000 kept objects reachable through weakref.ref"
    # a few dropped objects may stay alive through stale words on the scanned stack
    assert v["gone"] >= 990 and v["odd"] == 0, \
        f"{v['gone']} of 1000 dropped objects finalised; {v['odd']} finalised but still referenced or v.v."
    assert v["later"] >= 990, f"after dropping the kept ones only {v['later']} of 1000 finalised"
    assert v["closed"] == 100, f"dropped file not closed by its finaliser (size {v['closed']})"
    assert v["opened"] == 0, f"open file flushed without close() (size {v['opened']})"


def test_collect_while_interrupts_fire(repl: Repl) -> None:
    # A soft machine.Timer whose callback allocates, and a hardware timer (pyb.Timer 2) whose
    # hard callback counts the IRQs that land inside gc.collect() and, every eighth IRQ, hands
    # work to micropython.schedule (whose function allocates too). The scheduler queue is
    # shared with the soft timer, so a full queue (RuntimeError) is counted, not fatal. A hard
    # callback cannot allocate (the heap is locked), so it only counts. The main program
    # collects over a chain past the first 1.5 MiB of the PSRAM area and churns garbage in
    # between; `per` holds the hardware IRQs seen across each collection. Everything the
    # callbacks and the churn make fits one 16-byte block: a larger request scans the heap
    # from its first free hole (below the ballast) every time, which made an earlier version
    # of this test cost 1.6 G simulated instructions. No list holds more than the mark stack's
    # 64 entries (the ballast and the churn are chains of tuples): an overflowing mark stack
    # makes the collector rescan every marked block, the ballast's 2 MB of content included.
    out = run(repl,
        "import machine, micropython, pyb, uctypes\n"
        "keep = None\n"
        "while True:\n"
        "    b = bytearray(16384)\n"
        "    keep = (keep, b)\n"
        "    if uctypes.addressof(b) >= PSRAM + (3 << 19):\n"
        "        break\n"
        "b = None\n"
        "ring = [None] * 32\n"
        "sched = [None] * 32\n"
        "soft_n = hard_n = hard_in_gc = sched_n = queue_full = 0\n"
        "pending = in_gc = False\n"
        "def soft_cb(t):\n"
        "    global soft_n\n"
        "    ring[soft_n & 31] = (soft_n, str(soft_n))\n"
        "    soft_n += 1\n"
        "def sched_cb(n):\n"
        "    global sched_n, pending\n"
        "    sched[sched_n & 31] = (n, str(n))\n"
        "    sched_n += 1\n"
        "    pending = False\n"
        "def hard_cb(t):\n"
        "    global hard_n, hard_in_gc, pending, queue_full\n"
        "    hard_n += 1\n"
        "    if in_gc:\n"
        "        hard_in_gc += 1\n"
        "    if not pending and hard_n & 7 == 0:\n"
        "        try:\n"
        "            micropython.schedule(sched_cb, hard_n)\n"
        "            pending = True\n"
        "        except RuntimeError:\n"
        "            queue_full += 1\n"
        "lst = []\n"
        "per = []\n"
        "churn = None\n"
        "soft = machine.Timer(period=1, callback=soft_cb)\n"
        "hard = pyb.Timer(2, freq=1000, callback=hard_cb)\n"
        "for i in range(20000):\n"
        "    lst = [lst]\n"
        "far = 0\n"
        "node = lst\n"
        "while node:\n"
        "    far += id(node) >= PSRAM + (1 << 20)\n"
        "    node = node[0]\n"
        "for r in range(4):\n"
        "    h0 = hard_n\n"
        "    in_gc = True\n"
        "    gc.collect()\n"
        "    in_gc = False\n"
        "    per.append(hard_n - h0)\n"
        "    for k in range(300):\n"
        "        churn = (churn, r, k)\n"
        "soft.deinit()\n"
        "hard.deinit()\n"
        "churn = None\n"
        "gc.collect()\n"
        "scribble()\n"
        "ringbad = sum(1 for e in ring if e is None or e[1] != str(e[0]) or ring[e[0] & 31] is not e)\n"
        "schedbad = sum(1 for e in sched[:min(sched_n, 32)] if e is None or "
        "e[1] != str(e[0]) or e[0] > hard_n or e[0] & 7)\n"
        "print('soft=%d hard=%d in_gc=%d min_per=%d sched=%d full=%d far=%d depth=%d ringbad=%d schedbad=%d' % "
        "(soft_n, hard_n, hard_in_gc, min(per), sched_n, queue_full, far, walk(lst), ringbad, schedbad))\n")
    v = values(out)
    assert v["far"] > 15000, f"only {v['far']} of 20000 chain nodes lie past the first MiB of the PSRAM"
    assert v["depth"] == 20000, f"chain of 20000 broken at depth {v['depth']}"
    assert v["min_per"] > 0 and v["in_gc"] > 0, \
        f"hardware-timer IRQs did not land inside every gc.collect(): {v['in_gc']} inside, {v['min_per']} in the emptiest"
    assert v["soft"] >= 32, f"the soft timer's callback ran {v['soft']} times"
    assert v["sched"] > 4, f"the scheduled callback ran {v['sched']} times"
    assert v["ringbad"] == 0 and v["schedbad"] == 0, \
        f"objects allocated by callbacks damaged: {v['ringbad']} + {v['schedbad']}"


def test_random_allocate_free_soak(repl: Repl, record_property) -> None:  # type: ignore[no-untyped-def]
    # SOAK_OPS random operations (fixed seed SOAK_SEED) on 208 slots: make one of six kinds of
    # object with contents derived from its serial number, or check one and drop it; every 250
    # operations collect and check every surviving object (the soak's own later allocations
    # reuse whatever a collection freed, so a wrongly freed object gets overwritten); at the end
    # collect, scribble and check them all once more. 16 KiB buffers, every eighth dropped,
    # first leave holes up to 1.5 MiB into the PSRAM area, so objects land in the internal
    # area, in holes early in the PSRAM area, and past its first MiB. The slots are 13 lists
    # of 16 and no object holds more than 32 pointers, so the 64-entry mark stack never
    # overflows (an overflow rescans every marked block, which would dominate the run).
    out = run(repl,
        "import random, uctypes\n"
        f"random.seed({SOAK_SEED})\n"
        "holes = None\n"
        "k = 0\n"
        "while True:\n"
        "    b = bytearray(16384)\n"
        "    if k & 7:\n"
        "        holes = (holes, b)\n"
        "    k += 1\n"
        "    if uctypes.addressof(b) >= PSRAM + (3 << 19):\n"
        "        break\n"
        "b = None\n"
        "gc.collect()\n"
        "objs = [[None] * 16 for _ in range(13)]\n"
        "meta = [[None] * 16 for _ in range(13)]\n"
        "def make(kind, v, size):\n"
        "    if kind == 0:\n"
        "        return ('%08x' % v).encode() * size\n"
        "    if kind == 1:\n"
        "        return list(range(v, v + size))\n"
        "    if kind == 2:\n"
        "        return tuple(str(v + j) for j in range(size))\n"
        "    if kind == 3:\n"
        "        return {j: v ^ j for j in range(size)}\n"
        "    if kind == 4:\n"
        "        node = None\n"
        "        for j in range(size):\n"
        "            node = (node, v + j)\n"
        "        return node\n"
        "    return ('%x.' % v) * size\n"
        "SIZES = (1024, 128, 16, 32, 64, 256)\n"
        "def good(i):\n"
        "    kind, v, size = meta[i >> 4][i & 15]\n"
        "    return objs[i >> 4][i & 15] == make(kind, v, size)\n"
        "peak = checks = errors = frees = allocs = bad = far = 0\n"
        "def check_all():\n"
        "    global checks, bad, far\n"
        "    for i in range(208):\n"
        "        if meta[i >> 4][i & 15] is not None:\n"
        "            checks += 1\n"
        "            far += id(objs[i >> 4][i & 15]) >= PSRAM + (1 << 20)\n"
        "            if not good(i):\n"
        "                bad += 1\n"
        f"for op in range({SOAK_OPS}):\n"
        "    i = random.getrandbits(16) % 208\n"
        "    o, m = objs[i >> 4], meta[i >> 4]\n"
        "    if m[i & 15] is not None and random.getrandbits(1):\n"
        "        checks += 1\n"
        "        if not good(i):\n"
        "            bad += 1\n"
        "        o[i & 15] = m[i & 15] = None\n"
        "        frees += 1\n"
        "    else:\n"
        "        kind = random.getrandbits(8) % 6\n"
        "        size = 1 + random.getrandbits(16) % SIZES[kind]\n"
        "        try:\n"
        "            o[i & 15] = make(kind, op, size)\n"
        "            m[i & 15] = (kind, op, size)\n"
        "            allocs += 1\n"
        "        except MemoryError:\n"
        "            errors += 1\n"
        "            o[i & 15] = m[i & 15] = None\n"
        "    if op % 250 == 249:\n"
        "        gc.collect()\n"
        "        peak = max(peak, gc.mem_alloc())\n"
        "        check_all()\n"
        "o = m = None\n"
        "gc.collect()\n"
        "scribble()\n"
        "check_all()\n"
        "print('allocs=%d frees=%d checks=%d bad=%d errors=%d far=%d peak=%d' % "
        "(allocs, frees, checks, bad, errors, far, peak))\n")
    v = values(out)
    for key, value in v.items():
        record_property(f"soak_{key}", value)
    assert v["allocs"] > SOAK_OPS // 3 and v["frees"] > SOAK_OPS // 6, out
    assert v["far"] > 0, f"no checked object lay past the first MiB of the PSRAM area: {out}"
    assert v["bad"] == 0, f"{v['bad']} of {v['checks']} object checks found damaged contents"
