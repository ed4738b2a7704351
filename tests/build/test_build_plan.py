"""`west build` decisions that need no compiler: boards, -p, cache reading, build options."""

from __future__ import annotations

from pathlib import Path

import pytest

from h7psram import build
from h7psram.errors import InputError


def fake_build_dir(path: Path, board: str, app: Path, marked: bool = True) -> Path:
    """A build directory as `west build` leaves it, as far as plan_build looks (CMakeCache.txt
    and, unless ``marked`` is False, the marker `west build` writes when it makes one)."""
    path.mkdir(parents=True, exist_ok=True)
    if marked:
        build.mark_build_dir(path)
    (path / "CMakeCache.txt").write_text(
        "# This is the CMakeCache file.\n"
        f"//board to build for\nBOARD:STRING={board}\n"
        f"//application directory\nAPP:PATH={app}\n"
        "MICROPY_DIR:PATH=/ws/modules/micropython\n"
        "CMAKE_COMMAND:INTERNAL=/usr/bin/cmake\n")
    (path / "firmware.elf").write_bytes(b"\x7fELF old")
    return path


def test_unknown_board_lists_the_known_ones():
    with pytest.raises(InputError) as err:
        build.check_board("nucleo_h743")
    msg = str(err.value)
    assert "\n" not in msg
    assert "unknown board 'nucleo_h743'" in msg
    for name in ("devebox_h7a3", "weact_mini_h7a3"):
        assert name in msg


def test_missing_board_is_an_error_without_cache(tmp_path):
    with pytest.raises(InputError, match="no board given"):
        build.plan_build(tmp_path / "b", None, None, "auto")


def test_fresh_directory_is_configured(tmp_path, repo):
    plan = build.plan_build(tmp_path / "b", "devebox_h7a3", None, "auto")
    assert plan == build.BuildPlan("devebox_h7a3", (repo / "app").resolve(), False, True)


def test_board_is_remembered(tmp_path, repo):
    d = fake_build_dir(tmp_path / "b", "weact_mini_h7a3", repo / "app")
    plan = build.plan_build(d, None, None, "auto")
    assert plan.board == "weact_mini_h7a3"
    assert (plan.pristine, plan.configure) == (False, False)


def test_auto_makes_pristine_only_on_a_change(tmp_path, repo):
    d = fake_build_dir(tmp_path / "b", "devebox_h7a3", repo / "app")
    assert build.plan_build(d, "devebox_h7a3", None, "auto").pristine is False
    plan = build.plan_build(d, "weact_mini_h7a3", None, "auto")
    assert plan.pristine and plan.configure
    other_app = tmp_path / "app2"
    other_app.mkdir()
    assert build.plan_build(d, "devebox_h7a3", other_app, "auto").pristine


def test_always_and_never(tmp_path, repo):
    d = fake_build_dir(tmp_path / "b", "devebox_h7a3", repo / "app")
    assert build.plan_build(d, "devebox_h7a3", None, "always").pristine
    assert build.plan_build(d, "devebox_h7a3", None, "never").pristine is False
    with pytest.raises(InputError, match="configured for board devebox_h7a3"):
        build.plan_build(d, "weact_mini_h7a3", None, "never")
    with pytest.raises(InputError, match="-p sometimes"):
        build.plan_build(d, "devebox_h7a3", None, "sometimes")


def test_directory_configured_without_micropython_is_configured_again(tmp_path, repo):
    d = fake_build_dir(tmp_path / "b", "devebox_h7a3", repo / "app")
    cache = d / "CMakeCache.txt"
    cache.write_text(cache.read_text().replace("MICROPY_DIR:PATH=/ws/modules/micropython", "MICROPY_DIR:PATH="))
    plan = build.plan_build(d, None, None, "auto")
    assert plan.configure and not plan.pristine


def test_extra_cmake_args_reconfigure(tmp_path, repo):
    d = fake_build_dir(tmp_path / "b", "devebox_h7a3", repo / "app")
    plan = build.plan_build(d, None, None, "auto", extra_cmake_args=["-DH7PSRAM_HEAP=single"])
    assert plan.configure and not plan.pristine


def test_foreign_directory_is_never_used_or_wiped(tmp_path):
    d = tmp_path / "photos"
    d.mkdir()
    (d / "cat.jpg").write_bytes(b"meow")
    with pytest.raises(InputError, match="not a build directory"):
        build.plan_build(d, "devebox_h7a3", None, "always")
    with pytest.raises(InputError, match="refusing to empty"):
        build.make_pristine(d)
    assert (d / "cat.jpg").exists()


def test_make_pristine_empties_a_build_directory_but_keeps_the_firmware(tmp_path, repo):
    d = fake_build_dir(tmp_path / "b", "devebox_h7a3", repo / "app")
    (d / "mpy" / "obj").mkdir(parents=True)
    (d / "mpy" / "obj" / "main.o").write_bytes(b"o")
    (d / "build_info.yml").write_text("board: devebox_h7a3\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("mine")
    (d / "link").symlink_to(outside, target_is_directory=True)
    build.make_pristine(d)
    assert sorted(p.name for p in d.iterdir()) == sorted([build.BUILD_MARKER, "firmware.elf",
                                                          "build_info.yml"])
    assert (d / "firmware.elf").read_bytes() == b"\x7fELF old"
    assert (outside / "keep.txt").read_text() == "mine"     # a symlink is removed, not followed


def test_stray_cmake_cache_does_not_make_a_directory_deletable(tmp_path, repo):
    """The reported case: `-p always -d .` in a repository holding a stray CMakeCache.txt."""
    d = fake_build_dir(tmp_path / "project", "devebox_h7a3", repo / "app", marked=False)
    (d / ".git").mkdir()
    (d / "main.c").write_text("int main;")
    for mode, board in (("always", "devebox_h7a3"), ("auto", "weact_mini_h7a3")):
        with pytest.raises(InputError, match="did not make it"):
            build.plan_build(d, board, None, mode)
    with pytest.raises(InputError, match="did not make it"):
        build.make_pristine(d)
    assert (d / ".git").is_dir() and (d / "main.c").is_file() and (d / "CMakeCache.txt").is_file()


def test_marked_directory_holding_a_repository_or_the_source_is_never_emptied(tmp_path, repo):
    d = fake_build_dir(tmp_path / "b", "devebox_h7a3", repo / "app")
    (d / ".git").mkdir()
    with pytest.raises(InputError, match="it holds .git"):
        build.plan_build(d, "devebox_h7a3", None, "always")
    (d / ".git").rmdir()
    src = d / "src"
    (src / "app").mkdir(parents=True)
    with pytest.raises(InputError, match="it holds"):
        build.make_pristine(d, repo=src)
    with pytest.raises(InputError, match="it holds"):
        build.plan_build(d, "devebox_h7a3", src / "app", "always")
    assert (src / "app").is_dir() and (d / "firmware.elf").is_file()


def test_only_an_empty_or_new_directory_is_marked(tmp_path):
    new = tmp_path / "new" / "b"
    build.mark_build_dir(new)
    assert (new / build.BUILD_MARKER).is_file()
    full = tmp_path / "full"
    full.mkdir()
    (full / "CMakeCache.txt").write_text("BOARD:STRING=devebox_h7a3\n")
    build.mark_build_dir(full)
    assert not (full / build.BUILD_MARKER).exists()


def test_missing_app_directory(tmp_path):
    with pytest.raises(InputError, match="application directory not found"):
        build.plan_build(tmp_path / "b", "devebox_h7a3", tmp_path / "nope", "auto")


def test_build_config_header():
    split = build.build_config_header("devebox_h7a3", "split")
    assert "#define H7PSRAM_HEAP_SPLIT 1" in split
    assert "#define H7PSRAM_HEAP_SPLIT 0" in build.build_config_header("devebox_h7a3", "single")
    with pytest.raises(InputError, match="H7PSRAM_HEAP=both"):
        build.build_config_header("devebox_h7a3", "both")


def test_generate_writes_once_and_keeps_unchanged_files(tmp_path):
    gen = tmp_path / "gen"
    files = build.generate("devebox_h7a3", "split", gen)
    assert {f.name for f in files} == {"h7psram_board.ld", "psram_board.h", "h7psram_build_config.h",
                                       "h7psram_flash.mk"}
    assert "H7PSRAM_FLASH_BASE := 0x08000000\n" in (gen / "h7psram_flash.mk").read_text()
    ld = (gen / "h7psram_board.ld").read_text()
    assert "_gc_blocks_table_start" in ld and "ORIGIN(PSRAM)" in ld
    assert '#define PSRAM_BOARD_NAME                "devebox_h7a3"' in (gen / "psram_board.h").read_text()
    stamps = {f: f.stat().st_mtime_ns for f in files}
    build.generate("devebox_h7a3", "split", gen)
    assert {f: f.stat().st_mtime_ns for f in files} == stamps
    build.generate("devebox_h7a3", "single", gen)
    assert "_heap_start = ORIGIN(PSRAM);" in (gen / "h7psram_board.ld").read_text()
    assert "H7PSRAM_HEAP_SPLIT 0" in (gen / "h7psram_build_config.h").read_text()


def test_replace_keeps_an_identical_output(tmp_path):
    src, dst = tmp_path / "new.bin", tmp_path / "firmware.bin"
    src.write_bytes(b"abc")
    build._replace_from(src, dst)
    before = dst.stat().st_mtime_ns
    build._replace_from(src, dst)
    assert dst.stat().st_mtime_ns == before
    src.write_bytes(b"abcd")
    build._replace_from(src, dst)
    assert dst.read_bytes() == b"abcd"
    assert not list(tmp_path.glob(".*.new"))
