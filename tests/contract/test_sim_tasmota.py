"""The Tasmota simulators over a real mosquitto, seen by a plain aiomqtt peer.

Expected replies are the Tasmota docs' ("MQTT" command flow, "Commands" Power/Dimmer,
"Lights", "Tasmota-IR" IRHVAC) and firmware's (CmndPower, CmndDimmer, CmndIrHvac).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiomqtt
import pytest

from devices.conventions.tasmota import TasmotaCodec, TasmotaOptions
from devices.errors import DecodeError
from devices.model import Kind, StateValue, matches, prefixed, unprefixed
from simulators.tasmota import TasmotaDevice, make
from tests.broker import Mosquitto
from tests.waiting import WAIT_S, describe, eventually

QUIET = 0.3  # seconds of silence that prove "no answer"
VENDOR = "MITSUBISHI_HEAVY_152"


class Peer:
    """A plain MQTT client that records everything under the test's prefix."""

    def __init__(self, client: aiomqtt.Client, prefix: str) -> None:
        self.client = client
        self.prefix = prefix
        self.seen: list[tuple[str, bytes]] = []

    async def collect(self) -> None:
        async for msg in self.client.messages:
            topic = unprefixed(self.prefix, str(msg.topic))
            if topic is not None and isinstance(msg.payload, bytes):
                self.seen.append((topic, msg.payload))

    async def send(self, topic: str, payload: str | bytes = b"") -> int:
        """Publish a command; returns the mark from which its answers count."""
        mark = len(self.seen)
        await self.client.publish(prefixed(self.prefix, topic), payload, qos=1)
        return mark

    async def expect(self, topic: str, since: int = 0,
                     where: Callable[[bytes], bool] = lambda _: True) -> bytes:
        """The first payload on `topic` after `since` that satisfies `where`."""
        return await eventually(
            lambda: next((payload for seen_topic, payload in self.seen[since:]
                          if seen_topic == topic and where(payload)), None),
            what=f"a payload on {topic} that satisfies {describe(where)}")

    async def silent(self, since: int, prefix: str = "stat/") -> bool:
        await asyncio.sleep(QUIET)
        return not any(t.startswith(prefix) for t, _ in self.seen[since:])


def obj(payload: bytes) -> Any:
    return json.loads(payload)


@pytest.fixture
async def peer(mosquitto: Mosquitto, topic_prefix: str) -> AsyncIterator[Peer]:
    async with aiomqtt.Client(mosquitto.host, mosquitto.port) as client:
        await client.subscribe(f"{topic_prefix}/#", qos=1)
        peer = Peer(client, topic_prefix)
        task = asyncio.create_task(peer.collect())
        yield peer
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@pytest.fixture
async def sims(mosquitto: Mosquitto, topic_prefix: str) -> AsyncIterator[
        Callable[..., Any]]:
    started: list[TasmotaDevice] = []

    async def start(kind: Kind, topic: str, state: dict[str, StateValue] | None = None,
                    **options: Any) -> TasmotaDevice:
        opts = TasmotaOptions.model_validate({"convention": "tasmota", "topic": topic, **options})
        sim = make(f"sim-{topic}", kind, opts, host=mosquitto.host, port=mosquitto.port,
                   topic_prefix=topic_prefix, state=state)
        await sim.start()
        started.append(sim)
        return sim

    yield start
    for sim in reversed(started):
        await sim.stop()


async def test_relay_follows_the_documented_command_flow(peer: Peer, sims: Any) -> None:
    sim = await sims("switch", "tasmota_switch", {"power": False})
    mark = await peer.send("cmnd/tasmota_switch/Power")  # empty payload: a query
    assert obj(await peer.expect("stat/tasmota_switch/RESULT", mark)) == {"POWER": "OFF"}
    assert await peer.expect("stat/tasmota_switch/POWER", mark) == b"OFF"
    mark = await peer.send("cmnd/tasmota_switch/Power", "TOGGLE")
    assert obj(await peer.expect("stat/tasmota_switch/RESULT", mark)) == {"POWER": "ON"}
    assert await peer.expect("stat/tasmota_switch/POWER", mark) == b"ON"
    assert sim.state["power"] is True
    assert sim.commands() == [("cmnd/tasmota_switch/Power", ""),
                              ("cmnd/tasmota_switch/Power", "TOGGLE")]


@pytest.mark.parametrize(
    ("payload", "before", "after"),
    [("on", False, "ON"), ("1", False, "ON"), ("True", False, "ON"), ("off", True, "OFF"),
     ("0", True, "OFF"), ("toggle", True, "OFF"), ("2", False, "ON"), ("?", True, "ON"),
     ("bogus", True, "ON")],
)
async def test_power_payloads_as_tasmota_reads_them(
        peer: Peer, sims: Any, payload: str, before: bool, after: str) -> None:
    sim = await sims("switch", "plug", {"power": before})
    mark = await peer.send("cmnd/plug/POWER", payload)
    assert await peer.expect("stat/plug/POWER", mark) == after.encode()
    assert sim.state["power"] is (after == "ON")


async def test_relay_board_answers_per_relay(peer: Peer, sims: Any) -> None:
    sim = await sims("switch", "board", relay=2)
    mark = await peer.send("cmnd/board/POWER2", "ON")
    assert obj(await peer.expect("stat/board/RESULT", mark)) == {"POWER2": "ON"}
    assert await peer.expect("stat/board/POWER2", mark) == b"ON"
    mark = await peer.send("cmnd/board/power1")
    assert obj(await peer.expect("stat/board/RESULT", mark)) == {"POWER1": "OFF"}
    mark = await peer.send("cmnd/board/POWER3", "ON")
    assert obj(await peer.expect("stat/board/RESULT", mark)) == {"Command": "Unknown"}
    assert sim.state["power"] is True


async def test_light_dimmer_switches_power(peer: Peer, sims: Any) -> None:
    sim = await sims("light", "lamp", {"power": False, "brightness": 100})
    mark = await peer.send("cmnd/lamp/Dimmer", "40")
    assert obj(await peer.expect("stat/lamp/RESULT", mark)) == {"POWER": "ON", "Dimmer": 40}
    mark = await peer.send("cmnd/lamp/Dimmer", "0")
    assert obj(await peer.expect("stat/lamp/RESULT", mark)) == {"POWER": "OFF", "Dimmer": 0}
    mark = await peer.send("cmnd/lamp/Dimmer", "+")
    assert obj(await peer.expect("stat/lamp/RESULT", mark)) == {"POWER": "ON", "Dimmer": 10}
    mark = await peer.send("cmnd/lamp/Dimmer")
    assert obj(await peer.expect("stat/lamp/RESULT", mark)) == {"Dimmer": 10}
    mark = await peer.send("cmnd/lamp/Dimmer", "150")  # out of range: reports the old value
    assert obj(await peer.expect("stat/lamp/RESULT", mark)) == {"Dimmer": 10}
    mark = await peer.send("cmnd/lamp/STATE")
    state = obj(await peer.expect("stat/lamp/RESULT", mark))
    assert (state["POWER"], state["Dimmer"], "Wifi" in state) == ("ON", 10, True)
    assert sim.state == {"power": True, "brightness": 10}


async def test_ir_blaster_echoes_the_documented_irhvac(peer: Peer, sims: Any) -> None:
    sim = await sims("climate", "ir", irhvac_vendor=VENDOR)
    # Tasmota-IR docs, verbatim. "Hot" is no IRremoteESP8266 mode: Tasmota falls back to Auto.
    doc = '{"Vendor":"Mitsubishi_Heavy_152", "Power":"On","Mode":"Hot","FanSpeed":3,"Temp":22.5}'
    mark = await peer.send("cmnd/ir/IRHVAC", doc)
    echo = obj(await peer.expect("stat/ir/RESULT", mark))["IRHVAC"]
    assert {k: echo[k] for k in ("Vendor", "Power", "Mode", "Temp", "FanSpeed")} == {
        "Vendor": VENDOR, "Power": "On", "Mode": "Auto", "Temp": 22.5, "FanSpeed": "Medium"}
    assert sim.state == {"power": True, "mode": "auto", "setpoint": 22.5, "fan": "medium"}


async def test_ir_blaster_refusals(peer: Peer, sims: Any) -> None:
    sim = await sims("climate", "ir", irhvac_vendor=VENDOR)
    before = dict(sim.state)
    mark = await peer.send("cmnd/ir/IRHVAC", '{"Vendor":"xx"}')
    assert obj(await peer.expect("stat/ir/RESULT", mark))["IRHVAC"].startswith(
        "Wrong Vendor (COOLIX|DAIKIN|")
    mark = await peer.send("cmnd/ir/IRHVAC", "{nope")
    assert obj(await peer.expect("stat/ir/RESULT", mark)) == {"IRHVAC": "Invalid JSON"}
    mark = await peer.send("cmnd/ir/IRHVAC")
    assert obj(await peer.expect("stat/ir/RESULT", mark)) == {
        "IRHVAC": "Wrong Vendor, Mode or FanSpeed"}
    # Another vendor's code is sent and echoed, but our air conditioner ignores it.
    mark = await peer.send("cmnd/ir/IRHVAC", '{"Vendor":"COOLIX","Power":"On","Mode":"Cool"}')
    assert obj(await peer.expect("stat/ir/RESULT", mark))["IRHVAC"]["Vendor"] == "COOLIX"
    assert sim.state == before


async def test_lwt_and_state_on_connect(
        peer: Peer, sims: Any, mosquitto: Mosquitto, topic_prefix: str) -> None:
    sim = await sims("light", "lamp", {"power": True, "brightness": 70})
    assert await peer.expect("tele/lamp/LWT") == b"Online"
    state = obj(await peer.expect("tele/lamp/STATE"))
    assert (state["POWER"], state["Dimmer"]) == ("ON", 70)
    async with aiomqtt.Client(mosquitto.host, mosquitto.port) as late:  # LWT is retained
        await late.subscribe(prefixed(topic_prefix, "tele/lamp/LWT"))
        async with asyncio.timeout(WAIT_S):
            msg = await anext(aiter(late.messages))
        assert (msg.payload, msg.retain) == (b"Online", True)
    mark = len(peer.seen)
    await sim.go_offline()
    assert await peer.expect("tele/lamp/LWT", mark) == b"Offline"
    await sim.come_back()
    assert await peer.expect("tele/lamp/LWT", mark, lambda p: p == b"Online") == b"Online"


async def test_local_changes_are_reported(peer: Peer, sims: Any) -> None:
    plug = await sims("switch", "plug", {"power": False})
    lamp = await sims("light", "lamp", {"power": False, "brightness": 30})
    ir = await sims("climate", "ir", irhvac_vendor=VENDOR)
    mark = len(peer.seen)
    await plug.change_locally({"power": True})
    assert await peer.expect("stat/plug/POWER", mark) == b"ON"
    await lamp.change_locally({"brightness": 60, "power": True})
    assert obj(await peer.expect("stat/lamp/RESULT", mark)) == {"POWER": "ON", "Dimmer": 60}
    await ir.change_locally({"power": True, "mode": "heat", "setpoint": 21.0})
    received = await peer.expect("tele/ir/RESULT", mark)
    codec = TasmotaCodec("ac", "climate", TasmotaOptions(
        convention="tasmota", topic="ir", irhvac_vendor=VENDOR))
    update = codec.decode("tele/ir/RESULT", received)
    assert update is not None
    assert update.state == {"power": True, "mode": "heat", "setpoint": 21.0, "fan": "auto"}
    with pytest.raises(ValueError, match="brightness"):
        await plug.change_locally({"brightness": 5})


async def test_fault_ignore_commands(peer: Peer, sims: Any) -> None:
    sim = await sims("switch", "plug", {"power": False})
    sim.faults.ignore_commands = True
    mark = await peer.send("cmnd/plug/POWER", "ON")
    assert await peer.silent(mark)
    assert sim.commands() == [("cmnd/plug/POWER", "ON")]
    assert sim.state["power"] is False


async def test_fault_reply_delay(peer: Peer, sims: Any) -> None:
    sim = await sims("switch", "plug")
    sim.faults.reply_delay = 0.4
    started = time.monotonic()
    mark = await peer.send("cmnd/plug/POWER", "ON")
    assert await peer.expect("stat/plug/POWER", mark) == b"ON"
    assert time.monotonic() - started >= 0.4


async def test_fault_wrong_state(peer: Peer, sims: Any) -> None:
    lamp = await sims("light", "lamp", {"power": False, "brightness": 10})
    lamp.faults.wrong_state = {"brightness": 5}
    mark = await peer.send("cmnd/lamp/Dimmer", "80")
    assert obj(await peer.expect("stat/lamp/RESULT", mark)) == {"POWER": "ON", "Dimmer": 5}
    assert lamp.state["brightness"] == 80
    ir = await sims("climate", "ir", irhvac_vendor=VENDOR)
    ir.faults.wrong_state = {"setpoint": 30.0}
    mark = await peer.send("cmnd/ir/IRHVAC", f'{{"Vendor":"{VENDOR}","Power":"On","Temp":22}}')
    assert obj(await peer.expect("stat/ir/RESULT", mark))["IRHVAC"]["Temp"] == 30
    assert ir.state["setpoint"] == 22.0


@pytest.mark.parametrize(
    ("kind", "extra", "desired"),
    [("switch", {}, {"power": True}),
     ("switch", {"relay": 3}, {"power": True}),
     ("light", {}, {"brightness": 35}),
     ("light", {}, {"power": False, "brightness": 60}),
     ("climate", {"irhvac_vendor": VENDOR}, {"power": True, "mode": "cool", "setpoint": 24.5}),
     ("climate", {"irhvac_vendor": VENDOR}, {"mode": "off"})],
)
async def test_codec_and_simulator_agree(
        peer: Peer, sims: Any, kind: Kind, extra: dict[str, Any], desired: dict[str, Any]) -> None:
    """What the codec sends makes the simulator report what confirmation() expects."""
    sim = await sims(kind, "dev", **extra)
    codec = TasmotaCodec("dev", kind, TasmotaOptions(convention="tasmota", topic="dev", **extra))
    wanted = codec.confirmation(desired)
    mark = len(peer.seen)
    for message in codec.encode(desired):
        await peer.send(message.topic, message.payload)

    def reported() -> dict[str, StateValue]:  # what the controller learns, message by message
        known: dict[str, StateValue] = {}
        for topic, payload in peer.seen[mark:]:
            update = codec.decode(topic, payload) if topic in codec.subscriptions() else None
            known.update(update.state if update else {})
        return known

    await eventually(lambda: matches(reported(), wanted))
    assert matches(sim.reported(), wanted)
    if codec.query():  # and a query reads the same state back
        mark = len(peer.seen)
        for message in codec.query():
            await peer.send(message.topic, message.payload)
        payload = await peer.expect("stat/dev/RESULT", mark)
        update = codec.decode("stat/dev/RESULT", payload)
        assert update is not None and matches(update.state, sim.reported())


@pytest.mark.parametrize("kind", ["switch", "light", "climate"])
async def test_garbage_on_state_topics_is_a_decode_error(peer: Peer, sims: Any, kind: Kind) -> None:
    extra = {"irhvac_vendor": VENDOR} if kind == "climate" else {}
    sim = await sims(kind, "dev", **extra)
    codec = TasmotaCodec("dev", kind, TasmotaOptions(convention="tasmota", topic="dev", **extra))
    assert set(sim.state_topics()) <= set(codec.subscriptions())
    for topic in sim.state_topics():
        mark = len(peer.seen)
        await sim.publish(topic, b"\x00garbage{")
        payload = await peer.expect(topic, mark, lambda p: p.startswith(b"\x00"))
        with pytest.raises(DecodeError):
            codec.decode(topic, payload)
