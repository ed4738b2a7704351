"""build_info.yml and runners.yaml: round trip, defaults per board, and one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from h7psram import buildinfo
from h7psram.errors import InputError


def test_build_info_round_trip(tmp_path: Path):
    info = buildinfo.BuildInfo(board="weact_mini_h7a3", app="app", build_dir=tmp_path,
                               outputs={"elf": "firmware.elf", "dfu": "firmware.dfu", "mboot_dfu": "mboot/mboot.dfu"})
    buildinfo.write_build_info(info)
    read = buildinfo.read_build_info(tmp_path)
    assert (read.board, read.app, read.outputs) == ("weact_mini_h7a3", "app", info.outputs)
    assert read.elf == tmp_path / "firmware.elf" and read.output("mboot_dfu") == tmp_path / "mboot/mboot.dfu"
    with pytest.raises(InputError, match=r"build_info.yml: no 'bin' output recorded"):
        read.output("bin")


def test_runners_yaml_round_trip_and_zephyr_shape(tmp_path: Path, board):
    config = buildinfo.default_runners_config(board)
    path = buildinfo.write_runners_yaml(tmp_path, config)
    text = path.read_text()
    assert "flash-runner: dfu-util" in text and "runners: [dfu-util, openocd, pyocd, sim]" in text
    read = buildinfo.read_runners_yaml(tmp_path)
    assert read.flash_runner == "dfu-util"
    assert read.args_for("pyocd") == ["--target=stm32h7a3vitx"] and read.args_for("sim") == []
    assert read.args_for("jlink") == []


@pytest.mark.parametrize("text,message", [
    ("runners: [dfu-util]\n", r"'flash-runner' must be a non-empty string"),
    ("runners: [dfu-util]\nflash-runner: openocd\n", r"flash-runner 'openocd' is not in 'runners'"),
    ("runners: dfu-util\nflash-runner: dfu-util\n", r"'runners' must be a non-empty list"),
    ("runners: [dfu-util]\nflash-runner: dfu-util\nargs: {dfu-util: --alt=0}\n", r"args of 'dfu-util' must be a list"),
    ("runners: [dfu-util\n", r"runners.yaml: line \d+ not valid YAML"),
    ("- just\n- a list\n", r"expected a mapping"),
], ids=["no-flash-runner", "unlisted-runner", "runners-not-list", "args-not-list", "bad-yaml", "not-mapping"])
def test_bad_runners_yaml_is_one_line(tmp_path: Path, text: str, message: str):
    (tmp_path / "runners.yaml").write_text(text)
    with pytest.raises(InputError, match=message) as exc:
        buildinfo.read_runners_yaml(tmp_path)
    assert "\n" not in str(exc.value) and str(tmp_path / "runners.yaml") in str(exc.value)


def test_missing_build_info_says_to_build(tmp_path: Path):
    with pytest.raises(InputError, match=r"build_info.yml: not found .*run 'west build' first"):
        buildinfo.read_build_info(tmp_path)
    (tmp_path / "build_info.yml").write_text("app: app\n")
    with pytest.raises(InputError, match=r"'board' must be a non-empty string"):
        buildinfo.read_build_info(tmp_path)
