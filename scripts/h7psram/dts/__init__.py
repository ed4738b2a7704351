"""Generators that turn a board's devicetree into build inputs.

linker: GNU ld scripts (MicroPython, self-test); header: C facts for the
driver; regions: memcheck's region table. The simulator reads no generated
file: it builds its peripherals from the Board's devicetree blocks (sim/soc.py).
"""
