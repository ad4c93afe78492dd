"""Home Assistant's discovery on a real Mosquitto, the whole demo site: what a Home
Assistant would receive, and its button presses going the way of every press. (The real
Home Assistant reads the same messages in test_real_home_assistant.py.)"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.broker import Mosquitto
from tests.homeassistant.conftest import configs_heard, discovery_listener, ha_site_extra
from tests.link.listener import Listener, listening
from tests.scenario.rig import site_rig
from tests.waiting import always, eventually

ARRIVED = "王先生已到访,请各岗位做好接待工作"
SHOW_FLAT = "王先生即将参观样板房,请样板房管家做好准备"


def last_state(states: Listener) -> dict[str, Any]:
    heard = [h for h in states.on("vipctl/demo/ha/state") if h.payload]
    return json.loads(heard[-1].payload) if heard else {}


def announcements(states: Listener) -> list[dict[str, Any]]:
    return [json.loads(h.payload) for h in states.on("vipctl/demo/ha/announcement")]


async def test_home_assistant_gets_one_device_and_its_buttons_press_as_any_press(
        tmp_path: Path, mosquitto: Mosquitto, topic_prefix: str) -> None:
    ha_prefix = f"{topic_prefix}-ha"
    async with discovery_listener(mosquitto, ha_prefix) as ha, \
            listening(mosquitto.host, mosquitto.port, topic_prefix,
                      topic="vipctl/demo/ha/#") as states:
        # A press kept on the broker by someone's mistake: replayed to vipctl as it
        # subscribes, an old press and not one now.
        await states.publish("vipctl/demo/ha/press/departure", "PRESS", retain=True)
        async with site_rig(tmp_path, mosquitto, topic_prefix,
                            extra=ha_site_extra(ha_prefix)) as rig:
            service = rig.daemon.homeassistant
            assert service is not None
            # Every config, retained, one device; buttons on their own command topics.
            await eventually(lambda: set(configs_heard(ha)) == set(service.configs))
            assert all(h.retain is False or h.payload for h in ha.heard)
            configs = {t: json.loads(p) for t, p in configs_heard(ha).items()}
            assert {c["device"]["identifiers"][0] for c in configs.values()} == {"vipctl_demo"}
            assert {c["availability"][0]["topic"] for c in configs.values()} == {
                f"{topic_prefix}/vipctl/vipctl-demo/status"}
            arrival = configs[f"{ha_prefix}/button/vipctl_demo/arrival/config"]
            assert arrival["command_topic"] == f"{topic_prefix}/vipctl/demo/ha/press/arrival"
            assert sorted(t.split("/")[-2] for t in configs if "/button/" in t) == [
                "arrival", "departure", "show_flat", "vip_now"]
            event = configs[f"{ha_prefix}/event/vipctl_demo/announcement/config"]
            assert {"f1-arrival", "f7-show-flat", "f13-departure"} <= set(event["event_types"])
            await eventually(lambda: last_state(states).get("status") == "idle")
            assert service.presses == 0
            await states.publish("vipctl/demo/ha/press/departure", b"", retain=True)
            assert last_state(states)["engaged"] == "OFF"

            later = await rig.book(in_seconds=86400, surname="李", honorific="女士")
            await eventually(lambda: last_state(states).get("next_start") == later.start
                             .isoformat())
            assert last_state(states)["next"]["guest"] == "李女士"
            assert 1438 <= last_state(states)["minutes_to_next"] <= 1440
            visit = await rig.book(in_seconds=3)  # half an hour ahead, at x600
            # Home Assistant's press: the arrival, announced, and recorded as its.
            await states.publish("vipctl/demo/ha/press/arrival", "PRESS")
            await eventually(lambda: ARRIVED in rig.said())
            await eventually(lambda: last_state(states).get("engaged") == "ON")
            state = last_state(states)
            assert state["guest"] == "王先生" and state["status"] == "arrived"
            assert state["visit"]["id"] == visit.id
            triggers = rig.daemon.events.query(kinds=["trigger"], limit=10)
            assert [(e.source, e.detail["trigger"], e.result) for e in triggers] == [
                ("homeassistant", "arrival", "ok")]
            await eventually(lambda: any(a["event_type"] == "f1-arrival"
                                         for a in announcements(states)))
            said = next(a for a in announcements(states) if a["event_type"] == "f1-arrival")
            assert said["text"] == ARRIVED

            # A payload that is no press, and a topic that is no button's, are not presses.
            await states.publish("vipctl/demo/ha/press/show_flat", "HELLO")
            await states.publish("vipctl/demo/ha/press/cancel", "PRESS")
            await always(lambda: SHOW_FLAT not in rig.said(), during=1.0)
            assert service.presses == 1

            # A device in trouble is counted, and named in the sensor's attributes.
            await rig.sims["model_area_lights"].go_offline()
            await eventually(lambda: last_state(states).get("device_problems") == 1)
            assert last_state(states)["devices"] == {"model_area_lights": "unavailable"}

            # Home Assistant restarted: its birth message brings every config again.
            before = len(ha.heard)
            await states.client.publish(f"{ha_prefix}/status", "online", qos=1)
            await eventually(lambda: len([h for h in ha.heard[before:]
                                          if h.topic.endswith("/config")])
                             == len(service.configs))

        # Discovery turned off: the next run removes every config (empty, retained).
        assert all(configs_heard(ha).values())
        async with site_rig(tmp_path, mosquitto, topic_prefix,
                            extra=ha_site_extra(ha_prefix, discovery=False)) as rig:
            assert rig.daemon.homeassistant is not None
            assert rig.daemon.homeassistant.configs == {}
            await eventually(lambda: not any(configs_heard(ha).values()))
            assert len(rig.daemon.homeassistant.removed) == len(configs)
    # Nothing of it is left on the broker for a Home Assistant that starts now.
    async with discovery_listener(mosquitto, ha_prefix) as late:
        await always(lambda: not [h for h in late.heard if h.payload], during=0.5)
