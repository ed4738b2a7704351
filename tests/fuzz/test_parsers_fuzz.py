"""Property tests: every parser of outside input ends in a result or one clean error.

Hypothesis generates the inputs: mutated and truncated copies of a real file of each kind, and
YAML documents of arbitrary shape for the YAML formats. The property is the tools' promise
(docs/promises.md): an H7Error (exit 2, one line naming the file) or a result, never another
exception. The number of cases is fixed per parser (MAX_EXAMPLES, and H7PSRAM_FUZZ_EXAMPLES
to run more by hand); CI runs the default, see docs/promises.md for the count.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import struct
import sys
import tempfile
from pathlib import Path

import pytest
import yaml

hypothesis = pytest.importorskip("hypothesis", reason="hypothesis is not installed (pip install -e '.[test]')")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from h7psram import boards, buildinfo, dfuse, memcheck, patch  # noqa: E402
from h7psram.errors import H7Error  # noqa: E402
from h7psram.sim import elf_loader  # noqa: E402
from h7psram.twister.config import load_hardware_map  # noqa: E402
from h7psram.twister.testcase import load_testcases  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
MAX_EXAMPLES = int(os.environ.get("H7PSRAM_FUZZ_EXAMPLES", "200"))
# No deadline: these check what happens, never how fast (performance lives in bench/).
FUZZ = settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def clean_outcome(call, *args):
    """Run a parser; a clean error is one line naming what it read."""
    try:
        return call(*args)
    except H7Error as err:
        assert "\n" not in str(err).strip(), f"error of more than one line: {err}"
        return err


# --- mutations of a real file ------------------------------------------------------------------

def mutated(original: bytes) -> st.SearchStrategy[bytes]:
    """Truncations, overwritten bytes and words (often header fields), and appended junk."""
    n = len(original)
    edits = st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, 255)), max_size=8)
    words = st.lists(st.tuples(st.integers(0, max(0, n - 4)),
                               st.sampled_from([0, 1, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, n, n + 1])),
                     max_size=4)

    def apply(cut: int, byte_edits, word_edits, tail: bytes) -> bytes:
        data = bytearray(original)
        for at, value in byte_edits:
            data[at] = value
        for at, value in word_edits:
            data[at:at + 4] = struct.pack("<I", value)
        return bytes(data[:cut]) + tail

    return st.builds(apply, st.integers(0, n), edits, words, st.binary(max_size=64))


@pytest.fixture(scope="module")
def small_elf(tmp_path_factory) -> bytes:
    """A real firmware-shaped ELF (vector table, heap and stack symbols) from arm-none-eabi-gcc."""
    if shutil.which("arm-none-eabi-gcc") is None:
        pytest.skip("arm-none-eabi-gcc is not installed")
    sys.path.insert(0, str(REPO / "tests" / "memcheck"))
    from memcheck_elfbuild import Layout, build_elf

    return build_elf(tmp_path_factory.mktemp("fuzz-elf"), boards.load_board("devebox_h7a3"),
                     Layout()).read_bytes()


def test_elf_readers_never_crash(small_elf):
    """memcheck, the simulator's loader, and loading into a machine with the boot-image check
    (one machine, reused: loading only writes memory)."""
    pytest.importorskip("unicorn")
    from h7psram.sim.machine import Machine

    board = boards.load_board("devebox_h7a3")
    machine = Machine(board)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "firmware.elf"

        @FUZZ
        @given(mutated(small_elf))
        def check(data: bytes) -> None:
            path.write_bytes(data)
            clean_outcome(memcheck.check_elf, path, board)
            segments = clean_outcome(elf_loader.load_segments, str(path))
            if isinstance(segments, H7Error):
                return
            assert all(len(seg) > 0 for _addr, seg in segments)
            machine._loaded.clear()
            if not isinstance(clean_outcome(machine.load_elf, str(path)), H7Error):
                clean_outcome(machine.check_boot_image)

        try:
            check()
        finally:
            machine.close()


def _valid_dfuse() -> bytes:
    elements = (dfuse.DfuseElement(0x08000000, bytes(range(64))),
                dfuse.DfuseElement(0x08020000, b"\x01\x02\x03\x04" * 8))
    return dfuse.encode_dfuse(dfuse.DfuseImage((dfuse.DfuseTarget(0, "Internal Flash", elements),)))


def _with_crc(data: bytes) -> bytes:
    """The file with a correct CRC, so a mutation reaches the parser behind the CRC check."""
    return data[:-4] + struct.pack("<I", dfuse.dfu_crc(data[:-4])) if len(data) >= 4 else data


@FUZZ
@given(st.one_of(mutated(_valid_dfuse()), mutated(_valid_dfuse()).map(_with_crc),
                 st.binary(max_size=600)))
def test_dfuse_reader_never_crashes(data: bytes) -> None:
    clean_outcome(dfuse.parse_dfuse, data, "fuzz.dfu")


# --- YAML formats ------------------------------------------------------------------------------

SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-2**40, 2**40), st.floats(allow_nan=True),
                    st.text(max_size=12), st.dates(min_value=dt.date(1, 1, 1)),
                    st.sampled_from(["micropython", "pytest", "devebox_h7a3", "../../x", "/etc/passwd",
                                     "a.patch", "x" * 300, "", "-", "{", "*", "0x10"]))
KEYS = st.one_of(st.sampled_from([
    # the keys each format knows, so generated documents reach past the first check
    "patches", "path", "sha256sum", "module", "author", "email", "date", "upstreamable",
    "merge-pr", "issue", "comments", "common", "tests", "harness", "harness_config", "platform_allow",
    "platform_exclude", "tags", "timeout", "pytest_root", "pytest_args", "pytest_dut_scope",
    "fixture", "platform", "serial", "serial_pty", "runner", "id", "probe_id", "product", "baud",
    "connected", "runner_params", "pre_script", "post_script", "post_flash_script", "flash_timeout",
    "flash_before", "fixtures", "board", "app", "elf", "outputs", "build_dir", "mboot"]),
    st.text(max_size=8))
DOCUMENTS = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(KEYS, inner, max_size=6)), max_leaves=25)


def yaml_texts() -> st.SearchStrategy[str]:
    """Generated documents as YAML, and raw text that is often not YAML at all."""
    return st.one_of(DOCUMENTS.map(lambda d: yaml.safe_dump(d, allow_unicode=True)),
                     st.text(max_size=200))


def _yaml_case(tmp: Path, name: str, text: str) -> Path:
    path = tmp / name
    path.write_text(text, encoding="utf-8", errors="surrogateescape")
    return path


def test_yaml_readers_never_crash():
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        (tmp / "a.patch").write_text("--- a/x\n+++ b/x\n")

        @FUZZ
        @given(yaml_texts(), st.sampled_from(["patches", "testcase", "hwmap", "build_info"]))
        def check(text: str, kind: str) -> None:
            if kind == "patches":
                clean_outcome(patch.load_patch_set, _yaml_case(tmp, "patches.yml", text), tmp)
            elif kind == "testcase":
                clean_outcome(load_testcases, _yaml_case(tmp, "testcase.yaml", text))
            elif kind == "hwmap":
                clean_outcome(load_hardware_map, _yaml_case(tmp, "map.yaml", text))
            else:
                _yaml_case(tmp, "build_info.yml", text)
                clean_outcome(buildinfo.read_build_info, tmp)

        check()
