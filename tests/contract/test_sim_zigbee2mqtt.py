"""The Zigbee2MQTT simulators over a real mosquitto, seen from a plain MQTT client.

Commands are the documented ones (zigbee2mqtt.io, guide/usage/mqtt_topics_and_messages);
replies are matched by content, not order, as other messages may come first.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiomqtt
import pytest

from devices.conventions.zigbee2mqtt import Zigbee2MqttCodec, Zigbee2MqttOptions
from devices.model import Kind, StateValue, matches, prefixed, unprefixed
from simulators.zigbee2mqtt import Button, Light, Plug, Thermostat, Zigbee2MqttDevice, make
from tests.broker import Mosquitto
from tests.waiting import describe, eventually

QUIET = 0.3  # seconds of silence that show a reply did not come


@dataclass(frozen=True)
class Seen:
    at: float
    topic: str
    payload: bytes
    retain: bool

    def json(self) -> Any:
        return json.loads(self.payload)


class Peer:
    """A plain aiomqtt client that records everything under the test's prefix."""

    def __init__(self, broker: Mosquitto, prefix: str) -> None:
        self.client = aiomqtt.Client(
            broker.host, broker.port, identifier=f"peer-{prefix}-{id(self)}"
        )
        self.prefix = prefix
        self.seen: list[Seen] = []
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Peer:
        await self.client.__aenter__()
        await self.client.subscribe(f"{self.prefix}/#", qos=1)
        self._task = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.client.__aexit__(None, None, None)

    async def _read(self) -> None:
        async for msg in self.client.messages:
            topic = unprefixed(self.prefix, str(msg.topic))
            if topic is not None and isinstance(msg.payload, bytes):
                self.seen.append(Seen(time.monotonic(), topic, msg.payload, msg.retain))

    async def send(self, topic: str, payload: str | bytes) -> int:
        """Publish; returns a mark for `expect` so that only later messages count."""
        mark = len(self.seen)
        await self.client.publish(prefixed(self.prefix, topic), payload, qos=1)
        return mark

    async def expect(
        self, topic: str, test: Callable[[Seen], bool] = lambda s: True, *, since: int = 0
    ) -> Seen:
        return await eventually(
            lambda: next((s for s in self.seen[since:] if s.topic == topic and test(s)), None),
            what=f"a message on {topic} that satisfies {describe(test)}")

    async def silence(self, topic: str, *, since: int) -> None:
        await asyncio.sleep(QUIET)
        assert [s for s in self.seen[since:] if s.topic == topic] == []


Starter = Callable[..., Awaitable[Any]]


def opts(name: str = "hall", **extra: Any) -> Zigbee2MqttOptions:
    return Zigbee2MqttOptions(convention="zigbee2mqtt", name=name, **extra)


@pytest.fixture
async def peer(mosquitto: Mosquitto, topic_prefix: str) -> AsyncIterator[Peer]:
    async with Peer(mosquitto, topic_prefix) as p:
        yield p


@pytest.fixture
async def start(mosquitto: Mosquitto, topic_prefix: str, peer: Peer) -> AsyncIterator[Starter]:
    """Start simulators under the test's prefix, once the peer has seen their first state."""
    sims: list[Zigbee2MqttDevice] = []

    async def run(kind: Kind, options: Zigbee2MqttOptions | None = None, **kw: Any) -> Any:
        sim = make(
            f"sim-{topic_prefix}-{len(sims)}",
            kind,
            options or opts(),
            host=mosquitto.host,
            port=mosquitto.port,
            topic_prefix=topic_prefix,
            **kw,
        )
        sims.append(sim)
        mark = len(peer.seen)
        await sim.start()
        await peer.expect(sim.options.state_topic, since=mark)  # sent on start
        return sim

    yield run
    for sim in reversed(sims):
        await sim.stop()


def state_is(**want: object) -> Callable[[Seen], bool]:
    return lambda s: all(s.json().get(k) == v for k, v in want.items())


# --- the factory ---------------------------------------------------------------------------


def test_make_picks_the_class_and_initial_state(mosquitto: Mosquitto) -> None:
    where: dict[str, Any] = {"host": mosquitto.host, "port": mosquitto.port}
    assert isinstance(make("a", "light", opts(), **where), Light)
    assert isinstance(make("a", "switch", opts(), **where), Plug)
    assert isinstance(make("a", "climate", opts(), **where), Thermostat)
    assert isinstance(make("a", "button", opts(), **where), Button)
    light = make("a", "light", opts(), state={"brightness": 30}, **where)
    assert light.state == {"power": False, "brightness": 30}
    assert make("a", "climate", opts(fan_mode=True), **where).state["fan"] == "auto"
    with pytest.raises(ValueError, match="media"):
        make("a", "media", opts(), **where)


# --- light and plug ------------------------------------------------------------------------


async def test_light_set_is_echoed_with_the_whole_state(start: Starter, peer: Peer) -> None:
    sim = await start("light")
    mark = await peer.send("zigbee2mqtt/hall/set", '{"state": "ON", "brightness": 127}')
    echo = await peer.expect("zigbee2mqtt/hall", state_is(state="ON"), since=mark)
    assert echo.json()["brightness"] == 127
    assert "linkquality" in echo.json()
    assert not echo.retain
    assert sim.state == {"power": True, "brightness": 50}
    assert sim.commands() == [("zigbee2mqtt/hall/set", '{"state": "ON", "brightness": 127}')]


async def test_documented_set_example(start: Starter, peer: Peer) -> None:
    # mqtt_topics_and_messages, /set: state ON, "brightness": 255 ("Value between 0 and 255"),
    # and a colour the simulated bulb does not have (Zigbee2MQTT skips what it cannot set).
    await start("light", state={"brightness": 10})
    body = '{"state": "ON", "brightness": 255, "color": {"x": 0.123, "y": 0.123}}'
    mark = await peer.send("zigbee2mqtt/hall/set", body)
    echo = await peer.expect("zigbee2mqtt/hall", state_is(state="ON"), since=mark)
    assert echo.json()["brightness"] == 254


async def test_get_republishes_the_state(start: Starter, peer: Peer) -> None:
    await start("light", state={"power": True, "brightness": 50})
    mark = await peer.send("zigbee2mqtt/hall/get", '{"state": ""}')
    echo = await peer.expect("zigbee2mqtt/hall", since=mark)
    assert state_is(state="ON", brightness=127)(echo)


async def test_set_without_json_and_toggle(start: Starter, peer: Peer) -> None:
    # mqtt_topics_and_messages, "Without JSON": <name>/set/state with payload ON.
    sim = await start("switch")
    mark = await peer.send("zigbee2mqtt/hall/set/state", "ON")
    await peer.expect("zigbee2mqtt/hall", state_is(state="ON"), since=mark)
    mark = await peer.send("zigbee2mqtt/hall/set", '{"state": "TOGGLE"}')
    echo = await peer.expect("zigbee2mqtt/hall", since=mark)
    assert echo.json()["state"] == "OFF"
    assert "brightness" not in echo.json()
    assert sim.state == {"power": False}


async def test_brightness_alone_switches_a_light(start: Starter, peer: Peer) -> None:
    sim = await start("light")
    mark = await peer.send("zigbee2mqtt/hall/set", '{"brightness": 25}')
    await peer.expect("zigbee2mqtt/hall", state_is(state="ON", brightness=25), since=mark)
    mark = await peer.send("zigbee2mqtt/hall/set", '{"brightness": 0}')
    await peer.expect("zigbee2mqtt/hall", state_is(state="OFF", brightness=25), since=mark)
    assert sim.state == {"power": False, "brightness": 10}


GARBAGE = [b"ON", b"{", b"[1]", b'{"state": 7}', b'{"brightness": "bright"}', b"\xff" * 10]


async def test_garbage_commands_change_nothing(start: Starter, peer: Peer) -> None:
    sim = await start("light")
    mark = len(peer.seen)
    for garbage in GARBAGE:
        await peer.send("zigbee2mqtt/hall/set", garbage)
    await peer.silence("zigbee2mqtt/hall", since=mark)
    assert sim.state == {"power": False, "brightness": 100}
    assert len(sim.received) == len(GARBAGE)
    mark = await peer.send("zigbee2mqtt/hall/set", '{"state": "ON"}')
    await peer.expect("zigbee2mqtt/hall", state_is(state="ON"), since=mark)


async def test_change_locally_is_reported(start: Starter, peer: Peer) -> None:
    sim = await start("light")
    mark = len(peer.seen)
    await sim.change_locally({"power": True, "brightness": 20})
    await peer.expect("zigbee2mqtt/hall", state_is(state="ON", brightness=51), since=mark)


# --- thermostat ----------------------------------------------------------------------------


async def test_thermostat_mode_and_setpoint(start: Starter, peer: Peer) -> None:
    sim = await start("climate", opts(fan_mode=True))
    body = '{"system_mode": "cool", "occupied_heating_setpoint": 24, "fan_mode": "low"}'
    mark = await peer.send("zigbee2mqtt/hall/set", body)
    echo = await peer.expect("zigbee2mqtt/hall", state_is(system_mode="cool"), since=mark)
    assert state_is(occupied_heating_setpoint=24.0, fan_mode="low", running_state="cool")(echo)
    assert sim.state == {"power": True, "mode": "cool", "setpoint": 24.0, "fan": "low"}
    mark = await peer.send("zigbee2mqtt/hall/set", '{"system_mode": "off"}')
    await peer.expect("zigbee2mqtt/hall", state_is(system_mode="off"), since=mark)
    assert sim.state["power"] is False


async def test_thermostat_with_current_heating_setpoint(start: Starter, peer: Peer) -> None:
    sim = await start("climate", opts(setpoint_property="current_heating_setpoint"))
    mark = await peer.send("zigbee2mqtt/hall/set", '{"current_heating_setpoint": 21.5}')
    echo = await peer.expect("zigbee2mqtt/hall", since=mark)
    assert echo.json()["current_heating_setpoint"] == 21.5
    assert "occupied_heating_setpoint" not in echo.json()
    assert sim.state["setpoint"] == 21.5


# --- availability --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("legacy", "online", "offline"),
    [(False, b'{"state": "online"}', b'{"state": "offline"}'), (True, b"online", b"offline")],
)
async def test_availability_is_retained_and_the_will_fires(
    mosquitto: Mosquitto,
    topic_prefix: str,
    start: Starter,
    legacy: bool,
    online: bytes,
    offline: bytes,
) -> None:
    sim = await start("switch", legacy=legacy)
    async with Peer(mosquitto, topic_prefix) as late:  # joins after: gets the retained one
        seen = await late.expect("zigbee2mqtt/hall/availability")
        assert (seen.payload, seen.retain) == (online, True)
        mark = len(late.seen)
        await sim.go_offline()
        gone = await late.expect("zigbee2mqtt/hall/availability", since=mark)
        assert gone.payload == offline
        mark = len(late.seen)
        await sim.come_back()
        back = await late.expect("zigbee2mqtt/hall/availability", since=mark)
        assert back.payload == online
        await late.expect("zigbee2mqtt/hall", since=mark)  # and the state, sent on start


# --- buttons -------------------------------------------------------------------------------


async def test_button_press_in_the_2x_form(start: Starter, peer: Peer) -> None:
    sim = await start("button")
    mark = len(peer.seen)
    await sim.press("double")
    echo = await peer.expect("zigbee2mqtt/hall", lambda s: "action" in s.json(), since=mark)
    assert echo.json()["action"] == "double"
    await peer.silence("zigbee2mqtt/hall/action", since=mark)
    with pytest.raises(ValueError, match="triple"):
        await sim.press("triple")


async def test_button_press_in_the_1x_form_with_vendor_names(start: Starter, peer: Peer) -> None:
    ikea = opts(actions={"on": "single", "off": "double", "brightness_move_up": "hold"})
    sim = await start("button", ikea, legacy=True)
    mark = len(peer.seen)
    await sim.press("hold")
    assert (await peer.expect("zigbee2mqtt/hall/action", since=mark)).payload == (
        b"brightness_move_up"
    )
    await peer.expect("zigbee2mqtt/hall", state_is(action="brightness_move_up"), since=mark)
    await peer.expect("zigbee2mqtt/hall", state_is(action=""), since=mark)


# --- faults --------------------------------------------------------------------------------


async def test_ignore_commands_records_but_does_not_answer(start: Starter, peer: Peer) -> None:
    sim = await start("switch")
    sim.faults.ignore_commands = True
    mark = await peer.send("zigbee2mqtt/hall/set", '{"state": "ON"}')
    await peer.silence("zigbee2mqtt/hall", since=mark)
    assert sim.commands() == [("zigbee2mqtt/hall/set", '{"state": "ON"}')]
    assert sim.state == {"power": False}


async def test_reply_delay(start: Starter, peer: Peer) -> None:
    sim = await start("switch")
    sim.faults.reply_delay = 0.3
    sent_at = time.monotonic()
    mark = await peer.send("zigbee2mqtt/hall/set", '{"state": "ON"}')
    echo = await peer.expect("zigbee2mqtt/hall", since=mark)
    assert echo.at - sent_at >= 0.3


async def test_wrong_state_is_what_gets_reported(start: Starter, peer: Peer) -> None:
    sim = await start("light")
    sim.faults.wrong_state = {"brightness": 10}
    mark = await peer.send("zigbee2mqtt/hall/set", '{"state": "ON", "brightness": 200}')
    echo = await peer.expect("zigbee2mqtt/hall", since=mark)
    assert state_is(state="ON", brightness=25)(echo)
    assert sim.state["brightness"] == 79  # the truth, hidden by the fault


# --- the codec and the simulator agree -----------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "options", "desired"),
    [
        ("light", opts(), {"power": True, "brightness": 50}),
        ("light", opts(), {"power": False}),
        ("switch", opts(), {"power": True}),
        ("climate", opts(fan_mode=True), {"power": True, "mode": "heat", "setpoint": 22.5}),
        ("climate", opts(fan_mode=True), {"fan": "high"}),
        ("climate", opts(setpoint_property="occupied_cooling_setpoint"), {"setpoint": 25}),
        ("climate", opts(), {"power": False, "mode": "cool"}),
    ],
)
async def test_codec_commands_are_confirmed_by_the_simulator(
    start: Starter,
    peer: Peer,
    kind: Kind,
    options: Zigbee2MqttOptions,
    desired: dict[str, StateValue],
) -> None:
    initial: dict[str, StateValue] = {}
    if desired.get("power") is False:  # start on, so that the command changes something
        initial = {"power": True, "mode": "heat"} if kind == "climate" else {"power": True}
    sim = await start(kind, options, state=initial)
    codec = Zigbee2MqttCodec("dev", kind, options)
    mark = len(peer.seen)
    for m in codec.encode(desired):
        await peer.send(m.topic, m.payload)
    echo = await peer.expect("zigbee2mqtt/hall", since=mark)
    update = codec.decode(echo.topic, echo.payload)
    assert update is not None
    assert matches(update.state, codec.confirmation(desired))
    mark = len(peer.seen)
    for m in codec.query():
        await peer.send(m.topic, m.payload)
    again = codec.decode("zigbee2mqtt/hall", (await peer.expect(echo.topic, since=mark)).payload)
    assert again is not None
    assert matches(again.state, codec.confirmation(desired))
    assert matches(sim.state, codec.confirmation(desired))


@pytest.mark.parametrize("legacy", [False, True])
async def test_codec_reads_button_presses_and_availability(
    start: Starter, peer: Peer, legacy: bool
) -> None:
    codec = Zigbee2MqttCodec("dev", "button", opts())
    sim = await start("button", legacy=legacy)
    mark = len(peer.seen)
    await sim.press("hold")
    await sim.press("single")
    await sim.go_offline()
    # The will comes after every press the button sent before it lost the link.
    will = await peer.expect("zigbee2mqtt/hall/availability", since=mark)
    wanted = set(codec.subscriptions())
    presses = peer.seen[mark:peer.seen.index(will)]
    updates = [codec.decode(s.topic, s.payload) for s in presses if s.topic in wanted]
    events = [u.event for u in updates if u is not None and u.event is not None]
    assert events == (["hold", "hold", "single", "single"] if legacy else ["hold", "single"])
    update = codec.decode(will.topic, will.payload)
    assert update is not None
    assert update.available is False
