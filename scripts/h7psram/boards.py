"""Board descriptions, read from the workspace devicetree (dts/*.dts).

Each board is one .dts file next to the SoC .dtsi; edtlib parses it with the
YAML bindings in dts/bindings/, which also supply the per-part PSRAM facts as
property defaults. Nothing here restates an address or a size: every number a
Board holds comes out of the tree, and the few derived values (clock rates,
OCTOSPI prescalers) are computed from it.
"""

from __future__ import annotations

import copy
import functools
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from h7psram import board_cache
from h7psram.errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    from devicetree import edtlib

# Where the tree lives when the package runs from the workspace checkout;
# H7PSRAM_DTS_DIR points elsewhere (a copy, or a test's scratch tree).
_DEFAULT_DTS_DIR = Path(__file__).resolve().parents[2] / "dts"

# Memory node compatibles -> Region.kind (Zephyr's names for the same nodes).
_MEMORY_KINDS = {
    "soc-nv-flash": "flash",
    "arm,itcm": "itcm",
    "arm,dtcm": "dtcm",
    "mmio-sram": "sram",
    "st,stm32-backup-sram": "backup",
}

_OSPI_COMPATIBLE = "st,stm32-ospi"

# gpio flag cell bits, as in Zephyr's dt-bindings/gpio/gpio.h
_GPIO_ACTIVE_LOW = 1 << 0
_GPIO_PULL_UP = 1 << 4
_GPIO_PULL_DOWN = 1 << 5

# OCTOSPI DCR2.PRESCALER is 8 bits wide (CLK = kernel / (PRESCALER + 1)).
_MAX_PRESCALER = 255


@dataclass(frozen=True)
class Region:
    name: str        # devicetree node label, e.g. "flash0", "dtcm", "axi_sram", "psram"
    start: int
    size: int
    kind: str        # "flash" | "itcm" | "dtcm" | "sram" | "backup" | "psram"

    @property
    def end(self) -> int:
        """Exclusive end address."""
        return self.start + self.size

    def contains(self, addr: int, size: int = 1) -> bool:
        return self.start <= addr and addr + size <= self.end


@dataclass(frozen=True)
class Psram:
    compatible: str
    part: str
    base: int
    size: int
    page_size: int
    max_clock_hz: int            # fastest CLK for linear bursts inside a page
    page_cross_max_hz: int       # above this a burst may not cross a page
    tcem_ns: int
    tcph_ns: int
    read_wait_cycles: int
    id_bytes: bytes              # expected prefix of the 0x9F answer: MFID, KGD
    prescaler: int               # DCR2.PRESCALER for memory-mapped operation
    kernel_clock_hz: int
    # additions to the contract's field list
    burst_page_boundary: str     # "cross" | "wrap": what a burst does at a page end
    read_id_max_hz: int          # fastest CLK for Read ID (0x9F)
    id_prescaler: int            # DCR2.PRESCALER while reading the ID
    slow_read_max_hz: int = 33_000_000     # fastest CLK for 0x03 Read
    qpi_fast_read_hz: int = 0              # fastest CLK for QPI 0x0B (0: no such command)
    page_crossings_per_burst: int = 0      # page boundaries one burst may cross (0: no limit)

    @property
    def clock_hz(self) -> int:
        """CLK the memory-mapped accesses run at."""
        return self.kernel_clock_hz // (self.prescaler + 1)

    @property
    def id_clock_hz(self) -> int:
        return self.kernel_clock_hz // (self.id_prescaler + 1)


@dataclass(frozen=True)
class Gpio:
    """A plain GPIO use (LED, key): no alternate function."""
    port: str                    # "A".."K"
    pin: int
    active_high: bool
    pull: str                    # "none" | "up" | "down"
    label: str


@dataclass(frozen=True)
class Pll:
    input_hz: int
    m: int
    n: int
    p: int
    q: int
    r: int

    @property
    def vco_hz(self) -> int:
        return self.input_hz // self.m * self.n

    @property
    def p_hz(self) -> int:
        return self.vco_hz // self.p

    @property
    def q_hz(self) -> int:
        return self.vco_hz // self.q

    @property
    def r_hz(self) -> int:
        return self.vco_hz // self.r


@dataclass(frozen=True)
class MmioBlock:
    """A peripheral register block or memory window of a /soc node (what the simulator attaches)."""
    name: str                    # "USART1", "OCTOSPI1", "OCTOSPI1_MM", ...
    base: int
    size: int
    compatible: str
    irq: int | None = None       # NVIC interrupt number, when the block has one
    # additions for the simulator's models
    irqs: tuple[tuple[str | None, int], ...] = ()   # every interrupt: (interrupt-names entry, number)
    reg_index: int = 0           # which reg entry of its node (1: a memory window such as ospi_mm)
    # the node's binding-declared properties; a phandle becomes the target's name, a
    # phandle-array entry (name, target name, cells), e.g. dmas -> ("tx", "DMAMUX1", {"request": 38})
    props: dict = field(default_factory=dict, compare=False)

    @property
    def end(self) -> int:
        return self.base + self.size

    def irq_named(self, *names: str) -> int | None:
        """The first interrupt whose name is one of `names`, else the node's first one."""
        for want in names:
            for name, number in self.irqs:
                if name == want:
                    return number
        return self.irq


@dataclass(frozen=True)
class Board:
    name: str
    title: str
    mcu: str
    regions: list[Region]
    psram: Psram
    hse_hz: int
    sysclk_hz: int
    pins: dict[str, tuple[str, int, int]]   # signal -> (port letter, pin, AF)
    repl_uart: str
    # additions to the contract's field list
    dts_path: Path
    repl_uart_base: int
    repl_baudrate: int
    hclk_hz: int
    apb_hz: dict[str, int]                   # "APB1".."APB4" -> Hz
    lse_hz: int
    pll1: Pll
    pll3: Pll
    led: Gpio
    user_key: Gpio
    flash_erase_size: int
    flash_write_size: int
    storage: Region                          # filesystem partition of the internal flash
    mmio: list[MmioBlock] = field(default_factory=list)
    compatible: tuple[str, ...] = ()         # the root node's, board first ("mcudev,devebox-h7a3", ...)

    @property
    def vendor(self) -> str:
        """The board vendor's devicetree prefix ("mcudev", "weact"), as Zephyr's board.yml names it."""
        return self.compatible[0].split(",", 1)[0] if self.compatible else ""

    def region(self, name: str) -> Region:
        for region in self.regions:
            if region.name == name:
                return region
        raise KeyError(f"board {self.name} has no memory region {name!r}")

    def regions_of_kind(self, kind: str) -> list[Region]:
        return [r for r in self.regions if r.kind == kind]

    def mmio_block(self, name: str) -> MmioBlock:
        for block in self.mmio:
            if block.name == name:
                return block
        raise KeyError(f"board {self.name} has no register block {name!r}")


def dts_dir() -> Path:
    return Path(os.environ.get("H7PSRAM_DTS_DIR", _DEFAULT_DTS_DIR))


def known_boards(directory: Path | None = None) -> list[str]:
    directory = directory or dts_dir()
    return sorted(p.stem for p in directory.glob("*.dts"))


def load_board(name: str, directory: Path | None = None) -> Board:
    directory = directory or dts_dir()
    boards = known_boards(directory)
    if name not in boards:
        listing = ", ".join(boards) or "none"
        raise InputError(f"unknown board '{name}' (known boards: {listing})")
    return load_board_file(directory / f"{name}.dts")


def load_board_file(path: Path) -> Board:
    """Parse one board .dts (bindings from the bindings/ folder beside it)."""
    path = Path(path)
    # Parsing takes a noticeable fraction of a second and tools ask for the
    # same board many times; the cache key changes whenever any file of the
    # tree does. Callers get their own copy, so the cached Board stays intact.
    return copy.deepcopy(_load_cached(path, _tree_stamp(path)))


def _tree_stamp(path: Path) -> tuple:
    files = sorted(path.parent.glob("*.dts*")) + sorted((path.parent / "bindings").glob("*.yaml"))
    stamp = []
    for f in files:
        try:
            st = f.stat()
        except OSError:
            continue
        stamp.append((f.name, st.st_mtime_ns, st.st_size))
    return tuple(stamp)


@functools.lru_cache(maxsize=16)
def _load_cached(path: Path, stamp: tuple) -> Board:
    # Between processes the parsed board is kept on disk, keyed on the contents of the files
    # (board_cache.py): a hit spares the parse and importing edtlib and PyYAML.
    entry = board_cache.entry_path(path, Path(__file__))
    board = board_cache.load(entry)
    if isinstance(board, Board) and board.dts_path == path:
        return board
    board = _parse(path)
    board_cache.store(entry, board)
    return board


def _parse(path: Path) -> Board:
    from devicetree import dtlib, edtlib
    try:
        edt = edtlib.EDT(str(path), [str(path.parent / "bindings")],
                         warn_reg_unit_address_mismatch=False)
    except (edtlib.EDTError, dtlib.DTError) as err:
        message = _one_line(str(err))
        # dtlib's parse errors already start with "file:line"
        if not message.startswith(str(path)):
            message = f"{path}: {message}"
        raise InputError(message) from None
    except OSError as err:
        raise InputError(f"{path}: cannot read: {err.strerror}") from None
    try:
        return _BoardReader(edt, path).board()
    except _TreeProblem as err:
        raise InputError(f"{path}: {err}") from None


def _dt_label(node: edtlib.Node) -> str | None:
    # edtlib's Node.label is the 'label' property; the devicetree label
    # ("usart1: serial@...") is the first of Node.labels.
    return node.labels[0] if node.labels else None


def _one_line(text: str) -> str:
    return " ".join(text.split())


class _TreeProblem(Exception):
    """The tree parsed, but lacks something a board needs."""


class _BoardReader:
    def __init__(self, edt: edtlib.EDT, path: Path) -> None:
        self.edt = edt
        self.path = path

    # -- small accessors -------------------------------------------------

    def node(self, label: str) -> edtlib.Node:
        try:
            return self.edt.label2node[label]
        except KeyError:
            raise _TreeProblem(f"no node labelled '{label}'") from None

    @staticmethod
    def prop(node: edtlib.Node, name: str):
        if name not in node.props:
            raise _TreeProblem(f"{node.path} lacks property '{name}'")
        return node.props[name].val

    @staticmethod
    def optional_prop(node: edtlib.Node, name: str, absent):
        prop = node.props.get(name)
        return absent if prop is None else prop.val

    @staticmethod
    def okay(node: edtlib.Node) -> bool:
        return node.status == "okay"

    # -- the board -------------------------------------------------------

    def board(self) -> Board:
        regions = self.regions()
        pll1 = self.pll("pll1")
        rcc = self.node("rcc")
        sysclk_source = self.prop(rcc, "clocks")[0].controller
        if sysclk_source is not self.node("pll1"):
            raise _TreeProblem("rcc clocks must select pll1 (the only SYSCLK source supported)")
        sysclk_hz = pll1.p_hz
        hclk_hz = sysclk_hz // self.prop(rcc, "cpu-prescaler") // self.prop(rcc, "ahb-prescaler")
        apb_hz = {f"APB{i}": hclk_hz // self.prop(rcc, f"apb{i}-prescaler") for i in range(1, 5)}

        repl = self.repl_uart()
        flash = self.node("flash0")
        psram = self.psram(hclk_hz)
        pins = dict(self.pinctrl_pins(self.ospi(), "OSPI"))
        pins.update(self.pinctrl_pins(repl, "REPL"))
        regions.append(Region(self.psram_label(), psram.base, psram.size, "psram"))
        self.check_no_overlap(regions)
        return Board(
            name=self.path.stem,
            title=self.model(),
            mcu=self.mcu(),
            regions=regions,
            psram=psram,
            hse_hz=self.fixed_clock("clk_hse"),
            sysclk_hz=sysclk_hz,
            pins=pins,
            repl_uart=_dt_label(repl).upper(),
            dts_path=self.path,
            repl_uart_base=repl.regs[0].addr,
            repl_baudrate=self.prop(repl, "current-speed"),
            hclk_hz=hclk_hz,
            apb_hz=apb_hz,
            lse_hz=self.fixed_clock("clk_lse"),
            pll1=pll1,
            pll3=self.pll("pll3"),
            led=self.gpio_child("led_user"),
            user_key=self.gpio_child("key_user"),
            flash_erase_size=self.prop(flash, "erase-block-size"),
            flash_write_size=self.prop(flash, "write-block-size"),
            storage=self.partition("storage_partition", flash),
            mmio=self.mmio_blocks(),
            compatible=tuple(self.edt.get_node("/").compats),
        )

    def model(self) -> str:
        root = self.edt.get_node("/")
        if "model" not in root.props:
            raise _TreeProblem("the root node lacks 'model' (the board title)")
        return root.props["model"].val

    def mcu(self) -> str:
        # The root matches the SoC binding through its last compatible.
        compat = self.edt.get_node("/").matching_compat
        if not compat:
            raise _TreeProblem("the root compatible names no known SoC (expected \"st,stm32h7a3\")")
        return compat.split(",")[-1].upper()

    def regions(self) -> list[Region]:
        regions = []
        for node in self.edt.nodes:
            kinds = [_MEMORY_KINDS[c] for c in node.compats if c in _MEMORY_KINDS]
            if not kinds:
                continue
            if not _dt_label(node) or len(node.regs) != 1:
                raise _TreeProblem(f"memory node {node.path} needs a label and exactly one reg entry")
            reg = node.regs[0]
            regions.append(Region(_dt_label(node), reg.addr, reg.size, kinds[0]))
        if not regions:
            raise _TreeProblem("no memory nodes")
        return sorted(regions, key=lambda r: r.start)

    @staticmethod
    def check_no_overlap(regions: list[Region]) -> None:
        ordered = sorted(regions, key=lambda r: r.start)
        for low, high in zip(ordered, ordered[1:]):
            if high.start < low.end:
                raise _TreeProblem(f"memory regions {low.name} and {high.name} overlap")

    def fixed_clock(self, label: str) -> int:
        node = self.node(label)
        if not self.okay(node):
            raise _TreeProblem(f"{label} is not enabled (status = \"okay\") by the board")
        return self.prop(node, "clock-frequency")

    def pll(self, label: str) -> Pll:
        node = self.node(label)
        if not self.okay(node):
            raise _TreeProblem(f"{label} is not enabled by the board")
        source = self.prop(node, "clocks")[0].controller
        return Pll(
            input_hz=self.fixed_clock(_dt_label(source)),
            m=self.prop(node, "div-m"), n=self.prop(node, "mul-n"),
            p=self.prop(node, "div-p"), q=self.prop(node, "div-q"), r=self.prop(node, "div-r"),
        )

    def ospi(self) -> edtlib.Node:
        node = self.node("octospi1")
        if not self.okay(node):
            raise _TreeProblem("octospi1 is not enabled by the board")
        return node

    def psram(self, hclk_hz: int) -> Psram:
        ospi = self.ospi()
        children = [c for c in ospi.children.values() if c.status == "okay"]
        for child in children:
            if child.matching_compat is None:
                raise _TreeProblem(f"{child.path}: no binding in bindings/ matches compatible "
                                   f"{', '.join(child.compats) or '(none)'}")
        chips = [c for c in children if "jedec-id" in c.props]
        if len(chips) != 1:
            raise _TreeProblem(f"octospi1 needs exactly one PSRAM child node, found {len(chips)}")
        chip = chips[0]
        window = ospi.regs[1] if len(ospi.regs) > 1 else None
        if window is None or chip.regs[0].addr < window.addr or \
                chip.regs[0].addr + chip.regs[0].size > window.addr + window.size:
            raise _TreeProblem(f"{chip.path} does not lie inside the octospi1 memory-mapped window")

        source = self.prop(ospi, "kernel-clock-source")
        if source != "hclk":
            raise _TreeProblem(f"octospi1 kernel-clock-source \"{source}\" is not supported (use \"hclk\")")
        kernel_hz = hclk_hz

        max_hz = self.prop(chip, "max-frequency")
        cross_hz = self.prop(chip, "page-cross-max-frequency")
        id_max_hz = self.prop(chip, "read-id-max-frequency")
        page_size = self.prop(chip, "page-size")
        size = chip.regs[0].size
        for what, value in (("size", size), ("page-size", page_size)):
            if value <= 0 or value & (value - 1):
                raise _TreeProblem(f"{chip.path}: {what} {value:#x} is not a power of two")
        return Psram(
            compatible=chip.matching_compat,
            part=self.prop(chip, "part-name"),
            base=chip.regs[0].addr,
            size=size,
            page_size=page_size,
            max_clock_hz=max_hz,
            page_cross_max_hz=cross_hz,
            tcem_ns=self.prop(chip, "tcem-ns"),
            tcph_ns=self.prop(chip, "tcph-ns"),
            read_wait_cycles=self.prop(chip, "read-wait-cycles"),
            id_bytes=bytes(self.prop(chip, "jedec-id")),
            # Bursts end at every page (CSBOUND), so max-frequency alone would
            # do; staying under the page-crossing limit as well keeps the
            # chip in spec even if a burst did cross.
            prescaler=self.prescaler_for(kernel_hz, min(max_hz, cross_hz), chip),
            kernel_clock_hz=kernel_hz,
            burst_page_boundary=self.prop(chip, "burst-page-boundary"),
            read_id_max_hz=id_max_hz,
            id_prescaler=self.prescaler_for(kernel_hz, id_max_hz, chip),
            slow_read_max_hz=self.prop(chip, "slow-read-max-frequency"),
            qpi_fast_read_hz=self.optional_prop(chip, "qpi-fast-read-max-frequency", 0),
            page_crossings_per_burst=self.optional_prop(chip, "page-crossings-per-burst", 0),
        )

    @staticmethod
    def prescaler_for(kernel_hz: int, limit_hz: int, chip: edtlib.Node) -> int:
        prescaler = max(0, math.ceil(kernel_hz / limit_hz) - 1)
        if prescaler > _MAX_PRESCALER:
            raise _TreeProblem(f"{chip.path}: no OCTOSPI prescaler brings {kernel_hz} Hz under {limit_hz} Hz")
        return prescaler

    def psram_label(self) -> str:
        chip = self.node("psram")
        if chip.parent is not self.ospi():
            raise _TreeProblem("the node labelled 'psram' must be the PSRAM child of octospi1")
        return "psram"

    def repl_uart(self) -> edtlib.Node:
        node = self.edt.chosen_node("h7psram,repl-uart")
        if node is None:
            raise _TreeProblem("/chosen lacks h7psram,repl-uart")
        if not self.okay(node) or not _dt_label(node):
            raise _TreeProblem(f"the REPL UART {node.path} must be labelled and enabled")
        return node

    def pinctrl_pins(self, node: edtlib.Node, prefix: str) -> dict[str, tuple[str, int, int]]:
        if not node.pinctrls:
            raise _TreeProblem(f"{node.path} lacks pinctrl-0")
        pins = {}
        for conf in node.pinctrls[0].conf_nodes:
            mux = self.prop(conf, "pinmux")[0]
            signal = f"{prefix}_{self.prop(conf, 'signal').upper()}"
            if signal in pins:
                raise _TreeProblem(f"{node.path}: signal {signal} is assigned twice in pinctrl-0")
            pins[signal] = (self.prop(mux.controller, "port-name"), mux.data["pin"], mux.data["af"])
        return pins

    def gpio_child(self, label: str) -> Gpio:
        node = self.node(label)
        spec = self.prop(node, "gpios")[0]
        flags = spec.data["flags"]
        pull = "up" if flags & _GPIO_PULL_UP else "down" if flags & _GPIO_PULL_DOWN else "none"
        return Gpio(
            port=self.prop(spec.controller, "port-name"),
            pin=spec.data["pin"],
            active_high=not flags & _GPIO_ACTIVE_LOW,
            pull=pull,
            label=self.prop(node, "label"),
        )

    def partition(self, label: str, flash: edtlib.Node) -> Region:
        node = self.node(label)
        # Partition offsets are relative to the flash start (fixed-partitions).
        reg = node.regs[0]
        start = flash.regs[0].addr + reg.addr
        region = Region(label, start, reg.size, "flash")
        if region.end > flash.regs[0].addr + flash.regs[0].size:
            raise _TreeProblem(f"{node.path} ends past the end of flash0")
        return region

    def mmio_blocks(self) -> list[MmioBlock]:
        soc = self.edt.get_node("/soc")
        blocks = []
        for node in soc.children.values():
            if not node.regs or any(c in _MEMORY_KINDS for c in node.compats):
                continue
            if not _dt_label(node):
                raise _TreeProblem(f"{node.path} has registers but no label")
            irqs = tuple((i.name, i.data["irq"]) for i in node.interrupts)
            props = {k: _plain_value(p) for k, p in node.props.items() if k not in _STANDARD_PROPS}
            for index, reg in enumerate(node.regs):
                name = _dt_label(node).upper()
                if index:
                    # a second reg entry is a memory window ("ospi_mm" -> OCTOSPI1_MM)
                    name += "_" + (reg.name or str(index)).upper().split("_")[-1]
                blocks.append(MmioBlock(name, reg.addr, reg.size, node.compats[0],
                                        None if index or not irqs else irqs[0][1],
                                        () if index else irqs, index, props))
        return sorted(blocks, key=lambda b: b.base)


# Properties MmioBlock already carries in its own fields.
_STANDARD_PROPS = {"compatible", "reg", "reg-names", "status", "interrupts", "interrupt-names"}


def _plain_value(prop: edtlib.Property):
    """A property value without edtlib objects (a Board is deep-copied and compared)."""
    def name(node):
        return (_dt_label(node) or node.path).upper()
    if prop.type == "phandle":
        return name(prop.val)
    if prop.type in ("phandles", "path"):
        return tuple(name(n) for n in prop.val) if prop.type == "phandles" else name(prop.val)
    if prop.type == "phandle-array":
        return tuple((e.name, name(e.controller), dict(e.data)) for e in prop.val if e is not None)
    return prop.val
