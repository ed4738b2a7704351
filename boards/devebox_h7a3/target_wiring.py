# MicroPython's target wiring for this board (the format of tests/target_wiring/README.md
# in MicroPython): what the hardware tests of its test suite may use.
#
# Connect:
# - PA2 (UART2 TX) to PA3 (UART2 RX) on the header
#
# `west mpytest` hands this file to MicroPython's tests/run-tests.py; on the simulator the
# same jumper is the simulator's --uart-loopback for the UART named here. SPI(2) needs no
# wires (the tests only time transfers).

uart_loopback_args = (2,)
uart_loopback_kwargs = {}

spi_standalone_args_list = [(2,)]
