"""The device contract (tests/contract/contract.py) for every serial convention, on real
pseudo-terminals and sockets: confirmed; unconfirmed, retried, failed; unavailable while the
port is gone and back with the state read again; garbage ignored."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.contract import contract
from tests.serial.rig import CASES, Case, SerialRig, serial_rig
from tests.waiting import eventually


@pytest.fixture(params=CASES, ids=[c.id for c in CASES])
def case(request: pytest.FixtureRequest) -> Case:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
async def rig(case: Case, tmp_path: Path) -> AsyncIterator[SerialRig]:
    async with serial_rig(case, tmp_path) as r:
        yield r


async def test_state_is_read_at_start(rig: SerialRig) -> None:
    if not rig.reads_state:
        pytest.skip("DMX gives no feedback: assumed state")
    await eventually(lambda: rig.device.state == rig.case.initial)
    assert rig.device.available is True


async def test_command_is_confirmed(rig: SerialRig) -> None:
    await contract.command_is_confirmed(rig)
    assert rig.device.failure is None


async def test_unconfirmed_command_is_retried_then_fails(rig: SerialRig) -> None:
    if not rig.reads_state:
        pytest.skip("DMX gives no feedback: nothing to wait for (see test_gateways.py::test_dmx_*)")
    await contract.unconfirmed_command_is_retried_then_fails(rig)
    assert "no reply" in (rig.device.failure or "")


async def test_offline_then_back_with_state_read_again(rig: SerialRig) -> None:
    await contract.offline_then_back_with_state_read_again(rig)
    assert rig.port.opens == 2


async def test_garbage_is_ignored(rig: SerialRig) -> None:
    await contract.garbage_is_ignored(rig)
    assert rig.port.connected.is_set()  # garbage never took the port down
