# Sourced by the set-up, test and demo scripts: picks the Python environment
# this workspace uses and puts it first on PATH.
#
# Debian 12 and Ubuntu 23.04+ mark the system Python "externally managed"
# (PEP 668), so pip refuses to install into it; like Zephyr's getting-started
# guide we keep a virtual environment at the root of the west workspace, which
# is this clone's parent folder. An environment that is already active
# ($VIRTUAL_ENV, e.g. the user's own) is used as it is.
#   H7PSRAM_VENV    where the environment lives (default <workspace>/.venv)
#   H7PSRAM_PYTHON  the interpreter that creates it (default python3 on PATH)
h7psram_repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ -n "${VIRTUAL_ENV:-}" ] && [ -z "${H7PSRAM_VENV:-}" ]; then
    H7PSRAM_VENV=$VIRTUAL_ENV
fi
H7PSRAM_VENV=${H7PSRAM_VENV:-$(dirname "$h7psram_repo")/.venv}
export H7PSRAM_VENV

# Puts the environment on PATH when it exists; returns 1 when it does not.
h7psram_activate() {
    [ -x "$H7PSRAM_VENV/bin/python3" ] || return 1
    export VIRTUAL_ENV=$H7PSRAM_VENV
    case ":$PATH:" in
        *":$H7PSRAM_VENV/bin:"*) ;;
        *) export PATH="$H7PSRAM_VENV/bin:$PATH" ;;
    esac
    hash -r
}
