#!/usr/bin/env bash
# Installs what the workspace needs on a Debian/Ubuntu host: the Arm
# cross-compiler and newlib, dfu-util (dfu-suffix is used to cross-check our
# DfuSe images), gdb-multiarch (debugging, and the simulator's GDB server tests),
# sigrok-cli (reads the simulator's OSPI traces in the tests), git, and this repository's Python package with its test
# extras. Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(gcc-arm-none-eabi libnewlib-arm-none-eabi binutils-arm-none-eabi dfu-util device-tree-compiler git make gdb-multiarch sigrok-cli)
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

python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore -e '.[test]'
echo "setup-host: ready ($(arm-none-eabi-gcc -dumpversion 2>/dev/null || echo 'no arm gcc'), west $(python3 -m west --version 2>/dev/null | awk '{print $NF}'))"
