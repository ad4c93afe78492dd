"""The sensor simulators over a real mosquitto, seen by a plain aiomqtt peer and read back
by the controller's own codecs: the readings they report, Tasmota's `Status 10`, and their
knobs (a new reading, muted, offline with the last will)."""

from __future__ import annotations

from typing import Any

from devices.conventions.tasmota import TasmotaCodec, TasmotaOptions
from devices.conventions.zigbee2mqtt import Zigbee2MqttCodec, Zigbee2MqttOptions
from simulators.tasmota_sensor import make as make_tasmota
from simulators.zigbee2mqtt import make as make_zigbee2mqtt
from tests.broker import Mosquitto
from tests.contract.test_sim_tasmota import Peer, peer
from tests.waiting import eventually

__all__ = ["peer"]  # the plain MQTT peer fixture, shared with the Tasmota simulators' tests


def readings(codec: Any, topic: str, payload: bytes) -> dict[str, Any]:
    update = codec.decode(topic, payload)
    return dict(update.state) if update is not None else {}


async def test_tasmota_sensor(peer: Peer, mosquitto: Mosquitto, topic_prefix: str) -> None:
    options = TasmotaOptions(convention="tasmota", topic="room", sensor="AM2301",
                             rain_switch="Switch1")
    codec = TasmotaCodec("room", "sensor", options)
    sim = make_tasmota("room", "sensor", options, host=mosquitto.host, port=mosquitto.port,
                       topic_prefix=topic_prefix,
                       state={"temperature": 24.0, "humidity": 55.0, "rain": False})
    await sim.start()
    try:
        born = await peer.expect("tele/room/SENSOR")
        assert readings(codec, "tele/room/SENSOR", born) == {
            "temperature": 24.0, "humidity": 55.0, "rain": False}
        mark = await peer.send("cmnd/room/STATUS", "10")
        answer = await peer.expect("stat/room/STATUS10", mark)
        assert readings(codec, "stat/room/STATUS10", answer)["temperature"] == 24.0

        mark = len(peer.seen)
        await sim.set_reading(temperature=28.5, rain=True)  # type: ignore[attr-defined]
        sent = await peer.expect("tele/room/SENSOR", mark)
        assert readings(codec, "tele/room/SENSOR", sent) == {
            "temperature": 28.5, "humidity": 55.0, "rain": True}

        sim.faults.ignore_commands = True  # muted: no answer, no telemetry
        mark = await peer.send("cmnd/room/STATUS", "10")
        await sim.set_reading(temperature=30.0)  # type: ignore[attr-defined]
        assert await peer.silent(mark, prefix="stat/")
        assert not [t for t, _ in peer.seen[mark:] if t == "tele/room/SENSOR"]

        await sim.go_offline()
        assert await peer.expect("tele/room/LWT", mark) == b"Offline"
    finally:
        await sim.stop()


async def test_zigbee2mqtt_sensor(peer: Peer, mosquitto: Mosquitto, topic_prefix: str) -> None:
    options = Zigbee2MqttOptions(convention="zigbee2mqtt", name="rain")
    codec = Zigbee2MqttCodec("rain", "sensor", options)
    sim = make_zigbee2mqtt("rain", "sensor", options, host=mosquitto.host, port=mosquitto.port,
                           topic_prefix=topic_prefix, state={"rain": False})
    await sim.start()
    try:
        born = await peer.expect("zigbee2mqtt/rain")
        assert readings(codec, "zigbee2mqtt/rain", born) == {"rain": False}
        mark = len(peer.seen)
        await sim.set_reading(rain=True)  # type: ignore[attr-defined]
        sent = await peer.expect("zigbee2mqtt/rain", mark)
        assert readings(codec, "zigbee2mqtt/rain", sent) == {"rain": True}
        await sim.go_offline()
        gone = await peer.expect("zigbee2mqtt/rain/availability", mark)
        update = codec.decode("zigbee2mqtt/rain/availability", gone)
        assert update is not None and update.available is False
        await eventually(lambda: not sim.connected.is_set())
    finally:
        await sim.stop()
