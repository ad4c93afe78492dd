"""A restarted daemon does not take a button action left retained on the broker for a press
(issue 12: a retained `single` announced the arrival with nobody pressing, a retained `hold`
fired a departure); a real press after it still is one. Real mosquitto, the simulators."""

from __future__ import annotations

import json
from pathlib import Path

import aiomqtt

from controller.daemon import Daemon
from controller.store.visits import VisitStatus
from devices.device import DeviceEvent
from tests.broker import Mosquitto
from tests.scenario.rig import site_rig
from tests.waiting import always, eventually

ARRIVED = "贵宾已到访,请各岗位做好接待工作"


async def test_a_retained_action_is_no_press_after_a_restart(
    tmp_path: Path, mosquitto: Mosquitto, topic_prefix: str
) -> None:
    button = f"{topic_prefix}/zigbee2mqtt/concierge_button"
    async with site_rig(tmp_path, mosquitto, topic_prefix, speed=1.0) as rig, \
            aiomqtt.Client(mosquitto.host, mosquitto.port) as peer:
        visit_id = (await rig.daemon.press("vip_now", source="test")).split()[-1]
        assert rig.daemon.book.get(visit_id).status is VisitStatus.PREPARING
        await rig.daemon.stop()
        # While vipctl is down, the actions are left on the broker (Zigbee2MQTT with
        # `retain: true` for the button, or anyone's `mosquitto_pub -r`).
        await peer.publish(f"{button}/action", "single", qos=1, retain=True)
        await peer.publish(button, json.dumps({"action": "hold"}), qos=1, retain=True)
        try:
            heard: list[DeviceEvent] = []
            daemon = Daemon(rig.site, rig.scene, speed=1.0)
            daemon.registry["concierge_button"].add_listener(heard.append)
            async with daemon:
                # The availability the simulator left retained came with the actions.
                await eventually(lambda: daemon.registry["concierge_button"].available)
                await always(lambda: ARRIVED not in rig.said(), during=1.5)
                assert [e for e in heard if e.kind == "action"] == []
                assert daemon.book.get(visit_id).status is VisitStatus.PREPARING
                # A real press is one.
                await rig.sims["concierge_button"].press("single")  # type: ignore[attr-defined]
                await eventually(lambda: ARRIVED in rig.said())
                assert daemon.book.get(visit_id).status is VisitStatus.ARRIVED
        finally:
            for topic in (f"{button}/action", button):
                await peer.publish(topic, b"", qos=1, retain=True)
