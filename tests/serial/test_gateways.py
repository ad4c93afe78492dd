"""The gateways' own behaviours, over real ptys: CoolMaster (several units, `ls` fallback,
polling, refusals, a gateway that says OK and does nothing) and the DMX universe (written
again periodically and after a replug; commands while the widget is gone)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from devices.conventions.coolmaster import CoolMasterCodec, CoolMasterOptions
from devices.conventions.dmx import FULL, DmxCodec, DmxOptions
from devices.device import Device, DeviceEvent
from devices.kinds import make_device
from devices.transports.serial import SerialPort, SerialSettings
from simulators.coolmaster import CoolMasterSimulator
from simulators.dmx import DmxWidgetSimulator
from simulators.serial_link import PtyLink
from tests.contract.contract import Policy
from tests.waiting import eventually

UNITS = ["L1.100", "L1.101"]


class Site:
    """One port, several devices on it, and everything they said."""

    def __init__(self, port: SerialPort) -> None:
        self.port = port
        self.devices: dict[str, Device] = {}
        self.events: list[DeviceEvent] = []

    def add(self, device: Device) -> Device:
        device.add_listener(self.events.append)
        device.attach()
        if device.codec.query():
            self.port.add_poller(device.refresh)
        self.devices[device.id] = device
        return device

    def kinds(self, device_id: str) -> list[str]:
        return [e.kind for e in self.events if e.device_id == device_id]


@pytest.fixture
async def gateway(tmp_path: Path) -> AsyncIterator[CoolMasterSimulator]:
    sim = CoolMasterSimulator("ac_gateway", PtyLink(tmp_path / "ac_gateway"), UNITS)
    yield sim
    await sim.stop()


async def coolmaster_site(sim: CoolMasterSimulator, **settings: float) -> Site:
    await sim.start()
    port = SerialPort("ac_gateway", SerialSettings(url=sim.url, **{  # type: ignore[arg-type]
        "reply_timeout": 0.3, "poll_interval": 60.0, **settings}),
        CoolMasterCodec.make_framing())
    site = Site(port)
    for unit in UNITS:
        options = CoolMasterOptions(convention="coolmaster", port="ac_gateway", unit=unit)
        device_id = "ac_" + unit.replace(".", "_").lower()
        site.add(make_device(device_id, kind="climate", policy=Policy(confirm_timeout=0.5),
                        codec=CoolMasterCodec(device_id, "climate", options), transport=port))
    await port.start()
    await port.wait_connected()
    return site


async def test_several_units_on_one_gateway_each_confirm_their_own(
    gateway: CoolMasterSimulator,
) -> None:
    site = await coolmaster_site(gateway)
    try:
        first, second = site.devices["ac_l1_100"], site.devices["ac_l1_101"]
        results = await asyncio.gather(first.command({"mode": "cool", "setpoint": 23}),
                                       second.command({"mode": "heat", "fan": "low"}))
        assert all(r.ok for r in results)
        assert gateway.units["L1.100"] | {} == {"power": True, "mode": "cool",
                                                "setpoint": 23.0, "fan": "auto"}
        assert gateway.units["L1.101"]["mode"] == "heat"
        assert first.state["mode"] == "cool" and second.state["mode"] == "heat"
    finally:
        await site.port.close()


async def test_an_older_gateway_is_read_with_ls(gateway: CoolMasterSimulator) -> None:
    gateway.has_ls2 = False
    site = await coolmaster_site(gateway)
    try:
        device = site.devices["ac_l1_100"]
        # The status request on connect learns that ls2 is unknown; the first poll, a second
        # later, reads the state with ls.
        await eventually(lambda: device.state.get("setpoint") == 25.0, timeout=3)
        assert ("L1.100", "ls2 L1.100") in gateway.commands()
        assert ("L1.100", "ls L1.100") in gateway.commands()
        assert (await device.command({"power": True, "setpoint": 22})).ok
        assert gateway.commands()[-1] == ("L1.100", "ls L1.100")
    finally:
        await site.port.close()


async def test_changes_at_the_wall_are_polled(gateway: CoolMasterSimulator) -> None:
    site = await coolmaster_site(gateway, poll_interval=0.2)
    try:
        device = site.devices["ac_l1_101"]
        await eventually(lambda: device.state.get("power") is False)
        gateway.change_locally("L1.101", {"power": True, "mode": "dry"})
        await eventually(lambda: device.state.get("mode") == "dry", timeout=3)
        assert device.state["power"] is True
    finally:
        await site.port.close()


async def test_a_gateway_that_says_ok_and_does_nothing_is_not_believed(
    gateway: CoolMasterSimulator,
) -> None:
    site = await coolmaster_site(gateway)
    try:
        device = site.devices["ac_l1_100"]
        gateway.faults.wrong_state = {"power": False}  # it reports the unit still off
        result = await device.command({"power": True})
        assert not result.ok and result.attempts == 3
        assert "no matching report" in result.reason
        gateway.faults.wrong_state = {}
        assert (await device.command({"power": True})).ok
    finally:
        await site.port.close()


async def test_a_refusal_is_logged_and_the_command_fails(gateway: CoolMasterSimulator) -> None:
    gateway.units.pop("L1.101")  # the gateway no longer has this unit: `No UID`
    site = await coolmaster_site(gateway)
    try:
        result = await site.devices["ac_l1_101"].command({"power": True})
        assert not result.ok
        assert "garbage" in site.kinds("ac_l1_101")  # logged with the gateway's answer
        refusal = next(e for e in site.events if e.kind == "garbage")
        assert "No UID" in refusal.detail["reason"]
        assert site.port.connected.is_set()
    finally:
        await site.port.close()


@pytest.fixture
async def widget(tmp_path: Path) -> AsyncIterator[tuple[DmxWidgetSimulator, SerialPort, Device]]:
    sim = DmxWidgetSimulator("dmx_widget", PtyLink(tmp_path / "dmx_widget"))
    await sim.start()
    port = SerialPort("dmx_widget", SerialSettings(url=sim.url, refresh_interval=0.2,
                                                   reopen_min=0.05, reopen_max=0.3),
                      DmxCodec.make_framing())
    options = DmxOptions(convention="dmx", port="dmx_widget", channels=[7, 8])
    device = make_device("model_area_lights", kind="light", policy=Policy(confirm_timeout=0.3),
                    codec=DmxCodec("model_area_lights", "light", options), transport=port)
    device.attach()
    await port.start()
    await port.wait_connected()
    yield sim, port, device
    await port.close()
    await sim.stop()


async def test_dmx_universe_is_written_again_periodically(
    widget: tuple[DmxWidgetSimulator, SerialPort, Device],
) -> None:
    sim, _, device = widget
    assert (await device.command({"brightness": 40})).ok
    await eventually(lambda: sim.levels([7, 8]) == [102, 102])
    frames = sim.frames
    sim.channels[6] = 0  # a glitch on the widget: only the next refresh mends it
    await eventually(lambda: sim.frames >= frames + 2)  # every 0.2 s, with no command
    assert sim.levels([7, 8]) == [102, 102]


async def test_dmx_command_while_the_widget_is_gone_fails_then_lands_on_return(
    widget: tuple[DmxWidgetSimulator, SerialPort, Device],
) -> None:
    sim, port, device = widget
    await sim.vanish()
    await eventually(lambda: device.available is False)
    result = await device.command({"power": True})
    assert not result.ok and result.attempts == 3  # retried, then reported failed
    assert "not open" in result.reason
    await sim.come_back()
    await eventually(lambda: sim.levels([7, 8]) == [FULL, FULL], timeout=5)
    assert device.available is True
    assert device.state == {"power": True, "brightness": 100}  # as the universe now has it
    assert port.opens == 2
