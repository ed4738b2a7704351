#!/usr/bin/env bash
# The whole test suite, in the workspace's virtual environment when there is
# one (scripts/setup-host.sh makes it; an already active environment is used
# as it is). The twister plugin's own tests start nested pytest sessions on
# pseudo-terminals; they run in a pytest process of their own (they hung once
# after the simulator tests in the same process: not yet understood).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh
h7psram_activate || true
status=0
python3 -m pytest -q -p no:cacheprovider --ignore=tests/twister "$@" || status=$?
python3 -m pytest -q -p no:cacheprovider tests/twister "$@" || status=$?
exit "$status"
