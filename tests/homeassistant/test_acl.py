"""The shipped broker ACL (docs/mosquitto/vipctl.acl) with Home Assistant's discovery on:
Home Assistant's login gets vipctl's configs, state and status, and of vipctl's topics
writes only the buttons' presses; nobody else can press them. Real Mosquitto, the shipped
site.conf, per-user passwords (as tests/scenario/test_broker_acl.py)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiomqtt
import pytest

from controller.config.site import load_site
from controller.daemon import Daemon
from scenes.loader import load_scene_from_text
from tests.broker import Mosquitto, make_password_file
from tests.scenario.test_broker_acl import site_conf
from tests.waiting import always, eventually

PASSWORDS = {user: f"pw-{user}" for user in (
    "vipctl", "homeassistant", "zigbee2mqtt", "tasmota", "vipctl-agent", "admin", "intruder")}
SITE = "binjiang_1"  # the site id the shipped ACL names in vipctl's discovery line
PRESS = f"vipctl/{SITE}/ha/press/arrival"
CONFIGS = f"homeassistant/+/vipctl_{SITE}/+/config"
BUTTON = "zigbee2mqtt/concierge/button"
SAY = "vipctl/intercom/staff/say"
SCENE = """\
name: ACL
announcements: {intercom: staff_intercom}
cues:
  - id: f1-arrival
    at: arrival
    announce: {text: "{surname}{honorific}已到访"}
restore: {at: departure+5m}
"""


def site_file(tmp_path: Path, broker: Mosquitto) -> Path:
    path = tmp_path / "site.yaml"
    path.write_text(f"""\
site: {{id: {SITE}, name: 滨江, timezone: Asia/Shanghai}}
mqtt: {{url: {broker.url}, username: vipctl, password: {PASSWORDS["vipctl"]}, keepalive: 5}}
database: {{url: "sqlite:///{tmp_path / 'vipctl.db'}"}}
homeassistant: {{discovery: true}}
devices:
  concierge_button:
    kind: button
    mqtt: {{convention: zigbee2mqtt, name: concierge/button}}
    triggers: {{single: arrival}}
  staff_intercom:
    kind: intercom
    mqtt: {{convention: vipctl-intercom, topic: vipctl/intercom/staff}}
""")
    return path


def client(broker: Mosquitto, user: str) -> aiomqtt.Client:
    return aiomqtt.Client(broker.host, broker.port, username=user, password=PASSWORDS[user])


@pytest.fixture
async def secured(tmp_path: Path) -> AsyncIterator[Mosquitto]:
    passwords = make_password_file(tmp_path / "vipctl.passwd", PASSWORDS)
    broker = Mosquitto(security=site_conf(passwords))
    broker.start()
    yield broker
    broker.stop()


async def test_only_home_assistant_presses_and_it_presses_nothing_else(
        tmp_path: Path, secured: Mosquitto) -> None:
    wire: list[tuple[str, bytes]] = []  # what the broker let through, as admin sees it
    ha_heard: list[str] = []

    async def watch(c: aiomqtt.Client, record: Callable[[str, bytes], None]) -> None:
        async for message in c.messages:
            payload = message.payload if isinstance(message.payload, bytes) else b""
            record(str(message.topic), payload)

    site = load_site(site_file(tmp_path, secured))
    scene = load_scene_from_text(SCENE, known_targets=set(site.devices))
    async with client(secured, "admin") as admin, client(secured, "homeassistant") as ha, \
            Daemon(site, scene, speed=600.0) as daemon:
        await admin.subscribe("#", qos=1)
        # Home Assistant subscribes as its MQTT integration does.
        await ha.subscribe([("homeassistant/#", 1), ("vipctl/+/status", 1),
                            (f"vipctl/{SITE}/ha/#", 1)])
        tasks = [asyncio.create_task(watch(admin, lambda t, p: wire.append((t, p)))),
                 asyncio.create_task(watch(ha, lambda t, _: ha_heard.append(t)))]
        try:
            service = daemon.homeassistant
            assert service is not None
            await eventually(lambda: set(service.configs) <= set(ha_heard))
            await eventually(lambda: f"vipctl/{SITE}/ha/state" in ha_heard)
            assert "vipctl/vipctl/status" in ha_heard

            # Nobody else presses; Home Assistant commands no device and forges no config.
            for user in ("intruder", "tasmota", "zigbee2mqtt", "vipctl-agent"):
                async with client(secured, user) as rogue:
                    await rogue.publish(PRESS, "PRESS", qos=1)
            forged = f"homeassistant/button/vipctl_{SITE}/arrival/config"
            await ha.publish(BUTTON, json.dumps({"action": "single"}), qos=1)
            await ha.publish(SAY, json.dumps({"id": "x", "text": "假广播"}), qos=1)
            await ha.publish(forged, json.dumps({"command_topic": "cmnd/x/POWER"}), qos=1)
            await admin.publish("test/marker", b"m1", qos=1)
            await eventually(lambda: ("test/marker", b"m1") in wire)
            assert not [t for t, _ in wire if t in (PRESS, BUTTON, SAY)]
            assert [json.loads(p) for t, p in wire if t == forged] in (
                [], [service.configs[forged]])  # only vipctl's own (when republished)
            await always(lambda: service.presses == 0, during=0.5)

            # Home Assistant's press is taken, and goes to the engine as any press does.
            await ha.publish(PRESS, "PRESS", qos=1)
            await eventually(lambda: daemon.events.query(kinds=["trigger"]))
            pressed = daemon.events.query(kinds=["trigger"])
            assert [(e.source, e.detail["trigger"]) for e in pressed] == [
                ("homeassistant", "arrival")]
        finally:
            for task in tasks:
                task.cancel()
