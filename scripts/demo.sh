#!/usr/bin/env bash
# Main job: install the tools, turn the parent folder into a west workspace
# (MicroPython v1.28.0 + stm32lib from west.yml), build the firmware for a
# board and boot it on the board simulator, then ask the REPL for gc.mem_free().
#
#   bash scripts/demo.sh [BOARD]        (default devebox_h7a3)
set -euo pipefail
cd "$(dirname "$0")/.."
board=${1:-devebox_h7a3}

bash scripts/setup-host.sh
source scripts/venv.sh
h7psram_activate
west=(python3 -m west)

if ! "${west[@]}" topdir >/dev/null 2>&1; then
    echo "demo: making $(dirname "$PWD") a west workspace"
    "${west[@]}" init -l .
fi
echo "demo: west update (MicroPython and the HAL at the revisions pinned in west.yml)"
"${west[@]}" update
"${west[@]}" patch apply
"${west[@]}" build -b "$board" -d build
"${west[@]}" memcheck-sections -d build
python3 -m h7psram.demo -d build
