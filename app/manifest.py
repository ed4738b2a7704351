# The MicroPython application `west build` freezes into the firmware
# (passed to MicroPython's make as FROZEN_MANIFEST=<APP>/manifest.py).

# The port's usual frozen modules (asyncio and friends).
include("$(PORT_DIR)/boards/manifest.py")

# This application's own modules (paths are relative to this file).
freeze("modules")
