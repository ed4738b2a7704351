"""Generators that turn a board's devicetree into build inputs.

linker: GNU ld scripts (MicroPython, self-test); header: C facts for the
driver; regions: memcheck's region table; simmap: the simulator memory map.
"""
