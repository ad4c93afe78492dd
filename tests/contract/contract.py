"""The device contract's steps, shared by every transport's contract tests.

Each transport's test module builds a rig (MQTT over mosquitto, a serial port over a pty or
a socket) that can do the same few things to its simulator: ignore commands, drop off the
wire and come back, be changed by hand, send garbage. The steps below are the contract;
tests/contract/test_device_contract.py and tests/serial/test_serial_contract.py run them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from devices.device import Device, DeviceEvent
from devices.model import ANNOUNCED, Kind, StateValue, matches
from tests.waiting import eventually


@dataclass(frozen=True)
class Policy:
    confirm_timeout: float = 1.0
    retries: int = 2
    backoff: float = 0.05
    max_backoff: float = 0.2


class CaseRig:
    """What every rig answers alike from its case (kind, initial and desired state), its
    simulator (`received`, `faults`) and the device's events; the rigs add the rest."""

    case: Any
    sim: Any
    events: list[DeviceEvent]

    @property
    def kind(self) -> Kind:
        return self.case.kind  # type: ignore[no-any-return]

    @property
    def initial(self) -> dict[str, StateValue]:
        return self.case.initial  # type: ignore[no-any-return]

    @property
    def desired(self) -> dict[str, StateValue]:
        return self.case.desired  # type: ignore[no-any-return]

    def kinds(self) -> list[str]:
        return [e.kind for e in self.events]

    def saw_anything(self) -> bool:
        return bool(self.sim.received)

    def ignore_commands(self, on: bool) -> None:
        self.sim.faults.ignore_commands = on

    def clear_wire(self) -> None:
        self.sim.received.clear()


class ContractRig(Protocol):
    device: Device
    events: list[DeviceEvent]

    @property
    def kind(self) -> Kind: ...
    @property
    def initial(self) -> dict[str, StateValue]: ...
    @property
    def desired(self) -> dict[str, StateValue]: ...
    @property
    def reads_state(self) -> bool:
        """Whether vipctl can read the device's state back (an IR blaster, DMX: no)."""

    def kinds(self) -> list[str]: ...
    async def act(self) -> bool:
        """Do the case's command (or announcement); True when it was confirmed."""
    def sim_state(self) -> dict[str, StateValue]: ...
    def saw_anything(self) -> bool: ...
    def ignore_commands(self, on: bool) -> None: ...
    def clear_wire(self) -> None: ...
    def attempts_on_wire(self) -> float:
        """How many times the command was sent since clear_wire() (each of its messages)."""
    async def go_offline(self) -> None: ...
    async def come_back(self) -> None: ...
    async def change_by_hand(self, state: dict[str, StateValue]) -> None: ...
    async def send_garbage(self) -> None:
        """Garbage where the device's reports arrive, ending with one malformed report."""
    def stop_garbage(self) -> None: ...
    async def caught_up(self) -> None:
        """Return once everything the simulator has sent so far has reached the device."""


async def command_is_confirmed(rig: ContractRig) -> None:
    assert await rig.act()
    assert rig.kinds().count("command") == 1
    assert "confirmed" in rig.kinds()
    if rig.desired:
        assert matches(rig.device.state, rig.desired)
        # A confirmed command is already there; an assumed one (DMX) may still be on its way.
        await eventually(lambda: matches(rig.sim_state(), rig.desired))
    else:
        assert rig.device.state[ANNOUNCED] == "a0"
    assert rig.saw_anything(), "the simulator saw nothing on the wire"


async def unconfirmed_command_is_retried_then_fails(rig: ContractRig) -> None:
    if rig.reads_state:
        await eventually(lambda: matches(rig.device.state, rig.initial))
    rig.ignore_commands(True)
    rig.device.policy = Policy(confirm_timeout=0.3, retries=2, backoff=0.05)
    rig.clear_wire()
    assert not await rig.act()
    assert rig.kinds().count("command") == 3
    assert rig.kinds().count("retry") == 2
    assert rig.kinds()[-1] == "failed"
    assert rig.device.failure is not None
    assert rig.attempts_on_wire() == 3


async def offline_then_back_with_state_read_again(rig: ContractRig) -> None:
    await eventually(lambda: rig.device.available is True)
    await rig.go_offline()
    await eventually(lambda: rig.device.available is False)
    if rig.reads_state:
        # Changed by hand while it was away: vipctl must read the new state when it returns.
        await rig.change_by_hand(rig.desired)
    await rig.come_back()
    await eventually(lambda: rig.device.available is True, timeout=10)
    if rig.reads_state:
        await eventually(lambda: matches(rig.device.state, rig.desired))
    assert [e.detail["available"] for e in rig.events if e.kind == "availability"][-2:] == [
        False, True,
    ]


async def garbage_is_ignored(rig: ContractRig) -> None:
    if rig.reads_state:
        await eventually(lambda: matches(rig.device.state, rig.initial))
    await eventually(lambda: rig.device.available is True)
    await rig.caught_up()  # the start-up reports are all in: the baseline
    before = dict(rig.device.state)
    await rig.send_garbage()
    await rig.caught_up()  # and so is the garbage
    assert rig.device.state == before
    if rig.device.codec.can_report:
        assert "garbage" in rig.kinds()
    rig.stop_garbage()
    if rig.kind != "button":
        assert await rig.act()
