# The MicroPython application `west build` freezes into the firmware
# (passed to MicroPython's make as FROZEN_MANIFEST=<APP>/manifest.py).

# The port's usual frozen modules (asyncio and friends).
include("$(PORT_DIR)/boards/manifest.py")

# This application's own modules (paths are relative to this file).
freeze("modules")

# Builds with mboot (-DH7PSRAM_MBOOT=ON; CMake passes H7PSRAM_MBOOT=1 to the
# make that runs this file) carry MicroPython's own updater, so a board can
# update itself from a .dfu.gz on its filesystem: fwupdate.update_mpy(...).
import os

if os.environ.get("H7PSRAM_MBOOT") == "1":
    module("fwupdate.py", base_path="$(PORT_DIR)/mboot")
