"""With the chip missing or lying about its ID, the self-test says which (simulator faults)."""

from __future__ import annotations

import pytest

from h7psram.twister.device import DeviceAdapter

EXPECTED = {
    "absent": "spiram not found, id ff ff ff ff ff ff ff ff",
    "wrong-id": "spiram wrong id, mfid 0x",
}


@pytest.fixture(scope="module", params=sorted(EXPECTED))
def sim_faults(request: pytest.FixtureRequest) -> tuple[str, ...]:
    return (request.param,)


def test_failure_line_names_the_cause(dut: DeviceAdapter, sim_faults: tuple[str, ...]) -> None:
    lines = [line.strip() for line in dut.boot_log.splitlines() if line.strip()]
    assert lines[0] == f"psram selftest {dut.image.board}"
    assert lines[-1].startswith(EXPECTED[sim_faults[0]]), dut.boot_log
    assert "spiram memtest pass" not in dut.boot_log
