"""The simulator's peripherals come from the board's devicetree, and only from there.

Every model the machine attaches must sit at a /soc node's base with its size,
name and interrupts; every node without a model must be reported when the
firmware touches it. A tree with every block moved and every interrupt renumbered
must move the models with it: a model that kept an address or a vector number
of its own stays behind and fails here.
"""
from __future__ import annotations

import dataclasses

import pytest

from h7psram.boards import known_boards, load_board
from h7psram.sim import soc
from h7psram.sim.machine import Machine

MOVE = 0x0200_0000          # keeps every block inside the 0x40000000..0x5FFFFFFF bus window
NVIC_LINES = 160


def _irqs_held(model) -> set[int]:
    """Every interrupt number a model would raise."""
    held = set()
    for attr in ("irq", "irqn"):
        value = getattr(model, attr, None)
        if isinstance(value, int):
            held.add(value)
    for attr in ("irqs", "line_irq"):
        held.update(getattr(model, attr, None) or ())
    return held


def _node_of(board, model):
    return next(b for b in board.mmio if b.reg_index == 0 and b.name == model.name)


def _check_models_follow(board, m: Machine) -> None:
    assert m.peripherals, "no peripheral attached"
    for model in m.peripherals.values():
        node = _node_of(board, model)
        assert (model.base, model.size) == (node.base, node.size), model.name
        assert _irqs_held(model) <= {n for _, n in node.irqs}, model.name


@pytest.mark.parametrize("name", known_boards())
def test_every_model_is_a_tree_node(name):
    board = load_board(name)
    m = Machine(board)
    _check_models_follow(board, m)
    # the blocks whose interrupt a model raises hold the number they have in the tree
    assert m.peripherals["RNG"].irq == board.mmio_block("RNG").irq
    assert m.usarts[board.repl_uart].irq == board.mmio_block(board.repl_uart).irq


def test_models_move_with_the_tree():
    board = load_board("devebox_h7a3")
    on_bus = [b for b in board.mmio if b.reg_index == 0 and 0x4000_0000 <= b.base < 0x6000_0000]

    def moved(block):
        if block not in on_bus:
            return block
        irqs = tuple((n, (i + 7) % NVIC_LINES) for n, i in block.irqs)
        return dataclasses.replace(block, base=block.base + MOVE, irqs=irqs,
                                   irq=irqs[0][1] if irqs else None)

    relocated = dataclasses.replace(board, mmio=[moved(b) for b in board.mmio])
    m = Machine(relocated)
    _check_models_follow(relocated, m)
    modelled = {p.name for p in m.peripherals.values()}
    assert {b.name for b in on_bus} - {b.name for b in m.unmodelled_nodes} <= modelled
    irq_models = [p for p in m.peripherals.values() if _irqs_held(p)]
    assert len(irq_models) >= 27    # 8 U(S)ARTs, 7 timers, 6 SPIs, 2 DMAs, EXTI, RNG, FLASH, OCTOSPI1
    rcc = board.mmio_block("RCC")
    assert m.peripherals["RCC"].base == rcc.base + MOVE
    m.read_memory(rcc.base, 4)          # where the RCC was: nothing is left there
    assert (rcc.base, "read") in m.unmodelled_accesses


def test_a_node_without_a_model_is_reported():
    board = load_board("devebox_h7a3")
    m = Machine(board)
    attached = {p.base for p in m.peripherals.values()}
    for block in board.mmio:
        if block.reg_index or block.compatible in soc.ELSEWHERE:
            continue
        if block.compatible in soc.MODELS:
            assert block.base in attached, block.name
        else:
            assert block in m.unmodelled_nodes, block.name
    assert m.unmodelled_nodes, "the tree has an unmodelled block (IWDG1) to check this with"
    for block in m.unmodelled_nodes:
        assert m.read_memory(block.base, 4) == bytes(4)
        assert (block.base, "read") in m.unmodelled_accesses, block.name


def test_every_compatible_of_the_table_is_in_the_tree():
    compatibles = {b.compatible for b in load_board("devebox_h7a3").mmio}
    assert set(soc.MODELS) - compatibles == set()
    assert set(soc.ELSEWHERE) - compatibles == set()
