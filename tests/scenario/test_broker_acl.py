"""The broker ACL vipctl ships (docs/mosquitto/) on a real Mosquitto with per-user passwords:
vipctl, its media agent, Zigbee2MQTT and Tasmota do their parts of a visit (a press, its
announcement, the lights, the music); nobody else can press the button or make the intercom
speak (issue 12), and no login can write head office's booking requests (issue 13). What
crossed the broker is watched by the installer's `admin` login."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import aiomqtt
import pytest

from controller.agent.agent import Agent, load_agent
from controller.config.site import load_site
from controller.daemon import Daemon
from controller.store.requests import VisitRequest
from devices.device import DeviceEvent
from scenes.loader import load_scene_from_text
from tests.broker import Mosquitto, make_password_file
from tests.media.clips import tone
from tests.waiting import always, eventually

ROOT = Path(__file__).resolve().parents[2]
ACL = ROOT / "docs" / "mosquitto" / "vipctl.acl"
SITE_CONF = ROOT / "docs" / "mosquitto" / "site.conf"
# Every user of the shipped ACL, and one the ACL does not name (a login, and no rights).
PASSWORDS = {user: f"pw-{user}" for user in (
    "vipctl", "vipctl-agent", "zigbee2mqtt", "tasmota", "bridge", "admin", "intruder")}
BUTTON = "zigbee2mqtt/concierge/button"  # a friendly_name with a "/", as in example-site
SAY = "vipctl/intercom/staff/say"
# Head office's booking requests for this site (site.id "site"): only its bridge brings them.
REQUEST = "vipctl/site/bookings/request"
ARRIVED = "王先生已到访,请各岗位做好接待工作"

SCENE = """\
name: ACL
announcements: {intercom: staff_intercom}
baseline:
  - target: background_music
    state: {power: on, media: media/music, loop: true, playback: playing, volume: 30}
cues:
  - id: lights
    at: start-5m
    actions: [{target: model_area_lights, set: {power: on}}]
  - id: f1-arrival
    at: arrival
    announce: {text: "{surname}{honorific}已到访,请各岗位做好接待工作"}
restore: {at: departure+5m}
"""


def site_conf(passwords: Path) -> str:
    """docs/mosquitto/site.conf as shipped, pointed at the test's password file and at the
    shipped ACL; its listener gives way to the test's own (a free loopback port)."""
    lines = SITE_CONF.read_text().splitlines()
    assert "listener 1883" in lines
    text = "\n".join(line for line in lines if line != "listener 1883")
    return text.replace("/etc/mosquitto/vipctl.passwd", str(passwords)).replace(
        "/etc/mosquitto/vipctl.acl", str(ACL))


@pytest.fixture
def secured(tmp_path: Path) -> Iterator[Mosquitto]:
    passwords = make_password_file(tmp_path / "vipctl.passwd", PASSWORDS)
    broker = Mosquitto(security=site_conf(passwords))
    broker.start()
    yield broker
    broker.stop()


def client(broker: Mosquitto, user: str) -> aiomqtt.Client:
    return aiomqtt.Client(broker.host, broker.port, username=user, password=PASSWORDS[user])


def site_file(tmp_path: Path, broker: Mosquitto) -> Path:
    path = tmp_path / "site.yaml"
    path.write_text(f"""\
site: {{name: ACL, timezone: Asia/Shanghai}}
mqtt: {{url: {broker.url}, username: vipctl, password: {PASSWORDS["vipctl"]}, keepalive: 5}}
database: {{url: "sqlite:///{tmp_path / 'vipctl.db'}"}}
devices:
  concierge_button:
    kind: button
    mqtt: {{convention: zigbee2mqtt, name: concierge/button}}
    triggers: {{single: arrival}}
  model_area_lights:
    kind: light
    mqtt: {{convention: tasmota, topic: model_area}}
  background_music:
    kind: media
    mqtt: {{convention: vipctl-media, topic: vipctl/media/background_music}}
  staff_intercom:
    kind: intercom
    mqtt: {{convention: vipctl-intercom, topic: vipctl/intercom/staff}}
""")
    return path


def agent_file(tmp_path: Path, broker: Mosquitto) -> Path:
    tone(tmp_path / "media" / "music" / "01.wav", 0.2)
    path = tmp_path / "agent.yaml"
    path.write_text(f"""\
mqtt: {{url: {broker.url}, username: vipctl-agent, password: {PASSWORDS["vipctl-agent"]},
        client_id: agent, keepalive: 5}}
players:
  background_music: {{topic: vipctl/media/background_music, dummy: true}}
speakers:
  staff_intercom:
    topic: vipctl/intercom/staff
    dummy: true
    cache_dir: cache
    ptt: {{lead_in: 0, tail: 0.05}}
""")
    return path


async def tasmota_light(broker: Mosquitto, commands: list[tuple[str, str]]) -> None:
    """A Tasmota light logged in as `tasmota`: reports, and answers every POWER command."""
    async with client(broker, "tasmota") as light:
        await light.subscribe("cmnd/model_area/#", qos=1)
        await light.publish("tele/model_area/LWT", "Online", qos=1, retain=True)
        await light.publish("stat/model_area/POWER", "OFF", qos=1)
        async for message in light.messages:
            payload = bytes(message.payload).decode()  # type: ignore[arg-type]
            commands.append((str(message.topic), payload))
            if str(message.topic) == "cmnd/model_area/POWER" and payload in ("ON", "OFF"):
                await light.publish("stat/model_area/POWER", payload, qos=1)


@pytest.fixture
async def wire(secured: Mosquitto) -> AsyncIterator[list[tuple[str, bytes]]]:
    """Everything the broker let through, as the `admin` login sees it."""
    seen: list[tuple[str, bytes]] = []
    async with client(secured, "admin") as admin:
        await admin.subscribe("#", qos=1)

        async def watch() -> None:
            async for message in admin.messages:
                seen.append((str(message.topic), bytes(message.payload)))  # type: ignore[arg-type]

        task = asyncio.create_task(watch())
        yield seen
        task.cancel()


async def marker(broker: Mosquitto, wire: list[tuple[str, bytes]], n: int) -> None:
    """A message of admin's own, after everything published before it has been routed or
    dropped (a QoS 1 publish returns once the broker has taken it)."""
    mark = f"m{n}".encode()
    async with client(broker, "admin") as admin:
        await admin.publish("test/marker", mark, qos=1)
    await eventually(lambda: ("test/marker", mark) in wire)


async def test_a_visit_runs_under_the_acl_and_no_one_else_presses_or_speaks(
    tmp_path: Path, secured: Mosquitto, wire: list[tuple[str, bytes]]
) -> None:
    # Without a login, or with a wrong password, there is no connection at all.
    for user, password in ((None, None), ("vipctl", "wrong")):
        with pytest.raises(aiomqtt.MqttError):
            async with aiomqtt.Client(secured.host, secured.port, username=user,
                                      password=password):
                pass

    site = load_site(site_file(tmp_path, secured))
    scene = load_scene_from_text(SCENE, known_targets=set(site.devices))
    agent = Agent(load_agent(agent_file(tmp_path, secured)))
    commands: list[tuple[str, str]] = []
    light = asyncio.create_task(tasmota_light(secured, commands))
    await agent.start()
    heard: list[DeviceEvent] = []
    try:
        daemon = Daemon(site, scene, speed=600.0)
        daemon.registry["concierge_button"].add_listener(heard.append)
        async with daemon:
            music = daemon.registry["background_music"]
            lights = daemon.registry["model_area_lights"]
            # The music (P3's baseline): commanded by vipctl, played and reported by the agent.
            await eventually(lambda: music.state.get("playback") == "playing")
            request = VisitRequest.model_validate(
                {"surname": "王", "honorific": "先生", "start": daemon.clock() + timedelta(
                    seconds=0.6)}, context={"tz": daemon.tz})
            await daemon.engine.book_visit(request, source="test")
            # The lights' cue: vipctl's command reached the Tasmota login, its report came back.
            await eventually(lambda: lights.state.get("power") is True)
            assert ("cmnd/model_area/POWER", "ON") in commands

            # Everyone else, logged in or not named in the ACL, tries to press and to speak.
            rogue_say = json.dumps({"id": "rogue", "text": "假广播"})
            for user in ("intruder", "tasmota", "vipctl-agent", "bridge", "vipctl"):
                async with client(secured, user) as rogue:
                    await rogue.publish(BUTTON, json.dumps({"action": "single"}), qos=1)
                    await rogue.publish(f"{BUTTON}/action", "single", qos=1)
                    if user != "vipctl":  # vipctl's own say is its job
                        await rogue.publish(SAY, rogue_say, qos=1)
                    await rogue.publish(REQUEST, json.dumps({"request_id": f"r-{user}",
                                                             "visit": {}}), qos=1)
            await marker(secured, wire, 1)
            assert not [t for t, _ in wire if t.startswith(BUTTON)]
            assert not [p for t, p in wire if t == SAY]
            assert not [p for t, p in wire if t == REQUEST]
            # The link to head office is vipctl's part: its events pass the ACL.
            await eventually(lambda: [t for t, _ in wire if t == "vipctl/site/events"])
            await always(lambda: not [e for e in heard if e.kind == "action"])
            speaker = agent.devices["staff_intercom"]
            assert speaker.spoken_texts() == []

            # Zigbee2MQTT presses: the arrival is announced on the agent's speaker.
            async with client(secured, "zigbee2mqtt") as z2m:
                await z2m.publish(BUTTON, json.dumps({"action": "single"}), qos=1)
            await eventually(lambda: ARRIVED in speaker.spoken_texts())
            assert speaker.spoken_texts() == [ARRIVED]
            said = [json.loads(p)["text"] for t, p in wire if t == SAY]
            assert said == [ARRIVED]  # vipctl's say, the only one the broker let through
    finally:
        light.cancel()
        await agent.stop()
