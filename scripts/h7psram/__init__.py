"""Workspace tools for MicroPython on STM32H7A3 boards with a QSPI PSRAM heap."""

__version__ = "0.1.0"
