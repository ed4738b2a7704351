"""`dfu-util -l` outputs used by the tests."""

# `dfu-util -l` as printed in the original write-up for the H7A3's ROM bootloader.
ROM_LISTING = """\
dfu-util 0.9

Found DFU: [0483:df11] ver=0200, devnum=10, cfg=1, intf=0, path="1-1.1", alt=2, name="@OTP Memory   /0x08FFF000/01*1024 e", serial="376E356F3339"
Found DFU: [0483:df11] ver=0200, devnum=10, cfg=1, intf=0, path="1-1.1", alt=1, name="@Option Bytes   /0x5200201C/01*297 e", serial="376E356F3339"
Found DFU: [0483:df11] ver=0200, devnum=10, cfg=1, intf=0, path="1-1.1", alt=0, name="@Internal Flash   /0x08000000/256*08Kg", serial="376E356F3339"
"""

SECOND_BOARD = """\
Found DFU: [0483:df11] ver=0200, devnum=12, cfg=1, intf=0, path="1-1.4", alt=1, name="@Option Bytes   /0x5200201C/01*297 e", serial="3A7F21453338"
Found DFU: [0483:df11] ver=0200, devnum=12, cfg=1, intf=0, path="1-1.4", alt=0, name="@Internal Flash   /0x08000000/256*08Kg", serial="3A7F21453338"
"""

# mboot reports only its flash (the layout string docs/flashing.md gives for the H7A3).
MBOOT_LISTING = """\
Found DFU: [0483:df11] ver=0200, devnum=14, cfg=1, intf=0, path="1-1.1", alt=0, name="@Internal Flash  /0x08000000/256*08Kg", serial="376E356F3339"
"""
