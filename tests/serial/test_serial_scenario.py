"""A visit on a site with serial devices: the model-area lights on DMX (socket://) and the VIP
room's air conditioner behind a CoolMaster gateway (a pty). Both ports are pulled mid-scene
and put back: the devices go unavailable and come back, the held states are re-asserted (the
lights by the universe written again, the air conditioner by the hold on its re-read state),
and the reception's commands go on to the restore."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

from controller.config.site import SiteConfig, load_site
from controller.daemon import Daemon
from controller.store.requests import VisitRequest
from controller.store.visits import VisitStatus
from devices.conventions.dmx import FULL
from scenes.loader import DEFAULT_SCENE, load_scene
from simulators.coolmaster import CoolMasterSimulator
from simulators.dmx import DmxWidgetSimulator
from simulators.serial_link import PtyLink, SocketLink
from simulators.site import SiteSimulators
from tests.broker import Mosquitto
from tests.scenario.rig import site_file
from tests.waiting import eventually

SPEED = 600.0  # 45 min → 4.5 s, 5 min → 0.5 s
CHANNELS = [1, 2, 3, 4]
UNIT = "L1.100"
AC_HELD = {"power": True, "mode": "cool", "setpoint": 24.0}


def serial_site(tmp_path: Path, broker: Mosquitto, prefix: str, dmx_url: str,
                gateway_url: str) -> Path:
    """config/demo.yaml with the model-area lights on DMX and the VIP room's AC on CoolMaster."""
    path = site_file(tmp_path, broker, prefix)
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["serial_ports"] = {
        "dmx_widget": {"url": dmx_url, "refresh_interval": 0.5},
        "ac_gateway": {"url": gateway_url, "reply_timeout": 0.3, "poll_interval": 1.0},
    }
    data["devices"]["model_area_lights"] = {
        "kind": "light", "name": "模型区灯光",
        "serial": {"convention": "dmx", "port": "dmx_widget", "channels": CHANNELS}}
    data["devices"]["vip_room_ac"] = {
        "kind": "climate", "name": "VIP室空调",
        "serial": {"convention": "coolmaster", "port": "ac_gateway", "unit": UNIT}}
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def scene_with_ac_held(tmp_path: Path, site: SiteConfig) -> Any:
    """vipctl's own scene, with the VIP room's air conditioning held as well."""
    data = yaml.safe_load(DEFAULT_SCENE.read_text(encoding="utf-8"))
    data["holds"].append({"id": "p10-ac-held", "target": "vip_room_ac", "state": {
        "power": True, "mode": "cool", "setpoint": 24}, "from": "start-45m", "until": "end"})
    path = tmp_path / "scene.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return load_scene(path, known_targets=set(site.devices) | set(site.groups))


@dataclass
class Rig:
    daemon: Daemon
    dmx: DmxWidgetSimulator
    gateway: CoolMasterSimulator

    def lights(self) -> list[int]:
        return self.dmx.levels(CHANNELS)

    def ac(self) -> dict[str, Any]:
        return self.gateway.units[UNIT]

    def available(self, device_id: str) -> bool | None:
        return self.daemon.registry[device_id].available


@asynccontextmanager
async def serial_rig(tmp_path: Path, broker: Mosquitto, prefix: str) -> AsyncIterator[Rig]:
    dmx = DmxWidgetSimulator("dmx_widget", SocketLink())
    gateway = CoolMasterSimulator("ac_gateway", PtyLink(tmp_path / "ac_gateway"),
                                  [UNIT, "L1.101"])
    gateway.change_locally(UNIT, {"power": False, "mode": "heat", "setpoint": 20.0})
    await dmx.start()
    await gateway.start()
    try:
        site = load_site(serial_site(tmp_path, broker, prefix, dmx.url, gateway.url))
        scene = scene_with_ac_held(tmp_path, site)
        mqtt_devices = {d: s for d, s in site.devices.items() if s.mqtt is not None}
        async with SiteSimulators(mqtt_devices, host=broker.host, port=broker.port,
                                  topic_prefix=prefix), Daemon(site, scene, speed=SPEED) as daemon:
            yield Rig(daemon, dmx, gateway)
    finally:
        await gateway.stop()
        await dmx.stop()


async def test_ports_pulled_mid_scene_come_back_to_the_held_states(
    tmp_path: Path, mosquitto: Mosquitto, topic_prefix: str
) -> None:
    async with serial_rig(tmp_path, mosquitto, topic_prefix) as rig:
        engine = rig.daemon.engine
        request = VisitRequest.model_validate(
            {"surname": "王", "honorific": "先生",
             "start": rig.daemon.clock() + timedelta(seconds=0.7)}, context={"tz": rig.daemon.tz})
        visit = await engine.book_visit(request, source="test")
        await eventually(lambda: rig.lights() == [FULL] * 4)  # P2: lights on
        await eventually(lambda: rig.ac() == {**rig.ac(), **AC_HELD})  # P10: cooling at 24
        ledger = rig.daemon.ledger
        steps = {"p2-p9-lights", "p10-air-conditioning", "hold:p2-model-area-lights-held",
                 "hold:p10-ac-held"}
        await eventually(lambda: all(ledger.results(visit.id).get(k) for k in steps))
        # Nothing in flight to the lights or the AC when the ports go.
        await eventually(lambda: not any(rig.daemon.registry[d].busy
                                         for d in ("model_area_lights", "vip_room_ac")))

        # Both adapters pulled; meanwhile someone switches the AC off at the wall, and the
        # DMX widget, powered by USB, goes dark.
        await rig.dmx.vanish()
        await rig.gateway.vanish()
        await eventually(lambda: rig.available("model_area_lights") is False)
        await eventually(lambda: rig.available("vip_room_ac") is False)
        rig.gateway.change_locally(UNIT, {"power": False})
        assert rig.lights() == [0] * 4
        sent_before = len(rig.gateway.received)

        await rig.dmx.come_back()
        await rig.gateway.come_back()
        await eventually(lambda: rig.lights() == [FULL] * 4, timeout=15)  # the universe again
        await eventually(lambda: rig.ac()["power"] is True, timeout=15)  # the hold again

        def reasserted() -> list[Any]:
            # Logged once the gateway has confirmed, a moment after the unit turned on.
            return rig.daemon.events.query(kinds=["hold_reasserted"], device_id="vip_room_ac")

        await eventually(lambda: bool(reasserted()))
        await eventually(lambda: rig.available("model_area_lights") is True)
        await eventually(lambda: rig.available("vip_room_ac") is True)
        after = [line for _, line in rig.gateway.commands()[sent_before:]]
        assert f"ls2 {UNIT}" in after  # state read again on return
        assert f"on {UNIT}" in after  # and set back to the held state
        assert reasserted()[0].detail["reported"]["power"] is False

        # The reception goes on over the same ports, to the restore.
        for trigger in ("arrival", "departure"):
            assert (await engine.trigger(trigger, source="test")).accepted
        await eventually(lambda: rig.daemon.book.get(visit.id).status is VisitStatus.DONE,
                         timeout=15)
        await eventually(lambda: rig.lights() == [0] * 4)
        await eventually(lambda: rig.ac() == {**rig.ac(), "power": False, "mode": "heat",
                                              "setpoint": 20.0})
        failed = rig.daemon.events.query(kinds=["alert"], device_id="model_area_lights")
        assert not failed
