"""The contract every device kind and convention keeps, over a real mosquitto.

One table of cases, one set of tests: a command is confirmed; an unconfirmed one is retried
and then fails; a device that drops off is marked unavailable and, when it comes back, is
available with its state read again; garbage is ignored; a broker restart is survived. The
steps shared with the serial devices' contract are in tests/contract/contract.py.
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from devices.conventions.base import ConventionOptions
from devices.conventions.registry import make_codec
from devices.conventions.tasmota import TasmotaOptions
from devices.conventions.vipctl_intercom import VipctlIntercomOptions
from devices.conventions.vipctl_media import VipctlMediaOptions
from devices.conventions.zigbee2mqtt import Zigbee2MqttOptions
from devices.device import Device, DeviceEvent
from devices.kinds import make_device
from devices.model import Announcement, Kind, StateValue, matches
from devices.transports.mqtt import MqttSettings, MqttTransport
from simulators.base import SimulatedDevice
from tests.broker import Mosquitto
from tests.contract import contract
from tests.contract.contract import CaseRig, Policy
from tests.waiting import eventually


@dataclass(frozen=True)
class Case:
    id: str
    kind: Kind
    options: ConventionOptions
    sim_module: str
    initial: dict[str, StateValue]
    desired: dict[str, StateValue]  # empty for buttons and intercoms


CASES = [
    Case("tasmota-light", "light", TasmotaOptions(convention="tasmota", topic="model_area"),
         "simulators.tasmota", {"power": False, "brightness": 30},
         {"power": True, "brightness": 80}),
    Case("tasmota-switch", "switch", TasmotaOptions(convention="tasmota", topic="plug", relay=2),
         "simulators.tasmota", {"power": False}, {"power": True}),
    Case("tasmota-irhvac", "climate",
         TasmotaOptions(convention="tasmota", topic="vip_ac", irhvac_vendor="MITSUBISHI_AC"),
         "simulators.tasmota", {"power": False, "mode": "off", "setpoint": 26.0, "fan": "auto"},
         {"power": True, "mode": "cool", "setpoint": 24.0}),
    Case("z2m-light", "light", Zigbee2MqttOptions(convention="zigbee2mqtt", name="hall_lights"),
         "simulators.zigbee2mqtt", {"power": False, "brightness": 20},
         {"power": True, "brightness": 50}),
    Case("z2m-thermostat", "climate",
         Zigbee2MqttOptions(convention="zigbee2mqtt", name="lobby_thermostat"),
         "simulators.zigbee2mqtt", {"power": True, "mode": "heat", "setpoint": 20.0},
         {"power": True, "mode": "cool", "setpoint": 24.0}),
    Case("z2m-button", "button",
         Zigbee2MqttOptions(convention="zigbee2mqtt", name="concierge_button"),
         "simulators.zigbee2mqtt", {}, {}),
    Case("vipctl-media", "media", VipctlMediaOptions(convention="vipctl-media", topic="media/vip"),
         "simulators.vipctl_media", {"power": True, "playback": "stopped", "volume": 20},
         {"playback": "playing", "media": "promo.mp4", "loop": True, "volume": 40}),
    Case("vipctl-intercom", "intercom",
         VipctlIntercomOptions(convention="vipctl-intercom", topic="intercom/staff"),
         "simulators.vipctl_intercom", {}, {}),
]


# A topic of the test's own, which the device's connection also takes: a message the simulator
# sends there comes after everything it sent before, on the same connection, in order.
MARKER = "test/marker"


@dataclass
class Rig(CaseRig):
    case: Case
    sim: SimulatedDevice
    device: Device
    transport: MqttTransport
    events: list[DeviceEvent]
    markers: list[bytes] = field(default_factory=list)
    said: int = 0

    async def act(self) -> bool:
        """Do the case's command (or announcement); True when it was confirmed."""
        if self.case.kind == "intercom":
            result = await self.device.announce(Announcement(f"a{self.said}", "王先生已到访"))
            self.said += 1
        else:
            result = await self.device.command(self.case.desired)
        return result.ok

    # --- what tests/contract/contract.py asks of a rig ---------------------------------

    @property
    def reads_state(self) -> bool:
        return reads_state(self.case)

    def sim_state(self) -> dict[str, StateValue]:
        return self.sim.state

    def attempts_on_wire(self) -> float:
        if self.case.kind == "intercom":
            sent = self.device.codec.announce(Announcement("a0", "王先生已到访"))
        else:
            sent = self.device.codec.encode(self.case.desired)
        topics = {m.topic for m in sent}
        return sum(t in topics for t, _ in self.sim.commands()) / len(sent)

    async def go_offline(self) -> None:
        await self.sim.go_offline()

    async def come_back(self) -> None:
        await self.sim.come_back()

    async def change_by_hand(self, state: dict[str, StateValue]) -> None:
        self.sim.state.update(state)

    async def send_garbage(self) -> None:
        for topic in self.sim.state_topics():  # type: ignore[attr-defined]
            for payload in GARBAGE:
                await self.sim.publish(topic, payload)
        await self.sim.publish(self.sim.state_topics()[0], b"{")  # type: ignore[attr-defined]

    def stop_garbage(self) -> None:
        pass

    async def caught_up(self) -> None:
        # The device's start-up queries received, the simulator's replies to them sent (its
        # own bookkeeping), then a marker after them.
        queries = len(self.device.codec.query())
        await eventually(lambda: len(self.sim.received) >= queries and not self.sim.answering,
                         what="the simulator's replies to the start-up queries sent")
        mark = f"m{len(self.markers)}".encode()
        await self.sim.publish(MARKER, mark)
        await eventually(lambda: mark in self.markers, what=f"marker {mark!r} back")


@pytest.fixture(params=CASES, ids=[c.id for c in CASES])
def case(request: pytest.FixtureRequest) -> Case:
    return request.param  # type: ignore[no-any-return]


async def make_rig(case: Case, broker: Mosquitto, prefix: str) -> AsyncIterator[Rig]:
    sim_module: Any = importlib.import_module(case.sim_module)
    sim: SimulatedDevice = sim_module.make(
        case.id, case.kind, case.options, host=broker.host, port=broker.port, topic_prefix=prefix
    )
    sim.state.update(case.initial)
    await sim.start()
    transport = MqttTransport(MqttSettings(
        host=broker.host, port=broker.port, client_id=f"vipctl-{prefix}", topic_prefix=prefix,
        keepalive=5,
    ))
    events: list[DeviceEvent] = []
    device = make_device(case.id, kind=case.kind,
                         codec=make_codec(case.id, case.kind, case.options),
                         transport=transport, policy=Policy(), listener=events.append)
    device.attach()
    rig = Rig(case, sim, device, transport, events)
    transport.subscribe(MARKER, lambda _, payload, __: rig.markers.append(payload))
    await transport.start()
    await transport.wait_connected()
    try:
        yield rig
    finally:
        await transport.close()
        await sim.stop()


@pytest.fixture
async def rig(case: Case, mosquitto: Mosquitto, topic_prefix: str) -> AsyncIterator[Rig]:
    async for r in make_rig(case, mosquitto, topic_prefix):
        yield r


def reads_state(case: Case) -> bool:
    """Whether vipctl can read the device's state (an IR blaster cannot read the AC back)."""
    return bool(case.initial) and bool(make_codec(case.id, case.kind, case.options).query())


async def test_state_is_read_at_start(rig: Rig) -> None:
    if not reads_state(rig.case):
        pytest.skip("this kind has no state to read")
    await eventually(lambda: matches(rig.device.state, rig.case.initial))
    assert rig.device.available is True


async def test_command_is_confirmed(rig: Rig) -> None:
    if rig.case.kind == "button":
        await rig.sim.press("single")  # type: ignore[attr-defined]
        await eventually(lambda: "action" in rig.kinds())
        assert [e.detail for e in rig.events if e.kind == "action"] == [{"action": "single"}]
        return
    await contract.command_is_confirmed(rig)


async def test_unconfirmed_command_is_retried_then_fails(rig: Rig) -> None:
    if rig.case.kind == "button":
        pytest.skip("a button takes no commands")
    await contract.unconfirmed_command_is_retried_then_fails(rig)


async def test_wrong_state_report_is_not_a_confirmation(rig: Rig) -> None:
    if not rig.case.desired:
        pytest.skip("nothing to report wrongly")
    key, value = next((k, v) for k, v in rig.case.desired.items() if rig.case.initial.get(k) != v)
    rig.sim.faults.wrong_state = {key: rig.case.initial.get(key, not value)}
    rig.device.policy = Policy(confirm_timeout=0.3, retries=1, backoff=0.05)
    assert not await rig.act()
    rig.sim.faults.wrong_state = {}
    assert await rig.act()


async def test_offline_then_back_with_state_read_again(rig: Rig) -> None:
    await contract.offline_then_back_with_state_read_again(rig)


GARBAGE = [b"\xff\xfe\x00garbage", b"{", b"[1, 2, 3]", b'{"POWER": {"x": 1}, "state": 7}',
           b"null", b"x" * (1024 * 1024)]


async def test_garbage_is_ignored(rig: Rig) -> None:
    await contract.garbage_is_ignored(rig)


async def test_broker_restart_is_survived(
    case: Case, own_mosquitto: Mosquitto, topic_prefix: str
) -> None:
    if case.kind == "button":
        pytest.skip("covered by the action test")
    async for rig in make_rig(case, own_mosquitto, topic_prefix):
        assert await rig.act()
        own_mosquitto.restart()
        await eventually(lambda: rig.transport.connects == 2, timeout=15)  # noqa: B023
        await rig.sim.connected.wait()
        await eventually(lambda: rig.sim.connected.is_set(), timeout=15)  # noqa: B023
        rig.events.clear()
        assert await rig.act()
        assert "confirmed" in rig.kinds()
