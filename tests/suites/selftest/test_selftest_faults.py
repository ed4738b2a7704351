"""With the chip missing or lying about its ID, the self-test says which (simulator faults)."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.own_image, pytest.mark.fault_injection]

EXPECTED = {
    "absent": "spiram not found, id ff ff ff ff ff ff ff ff",
    "wrong-id": "spiram wrong id, mfid 0x",
}


@pytest.fixture(scope="module", params=sorted(EXPECTED))
def sim_faults(request: pytest.FixtureRequest) -> tuple[str, ...]:
    return (request.param,)


def test_failure_line_names_the_cause(dut, boot_lines: list[str], sim_faults: tuple[str, ...]) -> None:
    log = "\n".join(boot_lines)
    assert boot_lines[0] == f"psram selftest {dut.device_config.platform}", log
    assert boot_lines[-1].startswith(EXPECTED[sim_faults[0]]), log
    assert "spiram memtest pass" not in log
