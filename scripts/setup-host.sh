#!/usr/bin/env bash
# Installs what the workspace needs on a Debian/Ubuntu host: the Arm
# cross-compiler and newlib, dfu-util (dfu-suffix is used to cross-check our
# DfuSe images), gdb-multiarch (debugging, and the simulator's GDB server tests),
# sigrok-cli (reads the simulator's OSPI traces in the tests),
# git, python3-venv, and -- in the workspace's virtual environment (scripts/venv.sh)
# -- this repository's Python package with west and the test extras. Safe to
# run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh

packages=(gcc-arm-none-eabi libnewlib-arm-none-eabi binutils-arm-none-eabi dfu-util device-tree-compiler
          git make gdb-multiarch sigrok-cli python3-venv)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "setup-host: installing ${missing[*]}"
    sudo_cmd=()
    [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
fi

# An explicitly requested interpreter replaces an environment made by another
# one (CI asks for Debian's /usr/bin/python3).
if [ -n "${H7PSRAM_PYTHON:-}" ] && [ "$H7PSRAM_VENV" != "${VIRTUAL_ENV:-}" ] && [ -f "$H7PSRAM_VENV/pyvenv.cfg" ]; then
    want=$(dirname "$("$H7PSRAM_PYTHON" -c 'import os, sys; print(os.path.realpath(sys.executable))')")
    have=$(sed -n 's/^home *= *//p' "$H7PSRAM_VENV/pyvenv.cfg")
    if [ "$(readlink -f "$have")" != "$want" ]; then
        echo "setup-host: $H7PSRAM_VENV was made by $have/python3, not $H7PSRAM_PYTHON: making it again"
        rm -rf "$H7PSRAM_VENV"
    fi
fi
if ! h7psram_activate; then
    python=${H7PSRAM_PYTHON:-python3}
    echo "setup-host: creating the virtual environment $H7PSRAM_VENV ($("$python" --version 2>&1))"
    "$python" -m venv "$H7PSRAM_VENV"
    h7psram_activate
fi
python3 -m pip install -q --disable-pip-version-check -e '.[test]'
echo "setup-host: ready ($(arm-none-eabi-gcc -dumpversion 2>/dev/null || echo 'no arm gcc'), west $(python3 -m west --version 2>/dev/null | awk '{print $NF}'), Python $(python3 -c 'import sys; print(sys.version.split()[0])') in $H7PSRAM_VENV)"
echo "setup-host: for everyday commands, activate it first: source $H7PSRAM_VENV/bin/activate"
