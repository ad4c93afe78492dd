"""A simulator that crashes fails the test that used it; it never lets it pass quietly."""

from __future__ import annotations

import aiomqtt
import pytest

from devices.conventions.tasmota import TasmotaOptions
from devices.model import Message
from simulators.base import SimulatedDevice
from simulators.errors import SimulatorCrashed
from simulators.tasmota import TasmotaLight
from tests.broker import Mosquitto
from tests.waiting import eventually


class Buggy(SimulatedDevice):
    """Answers `ping`; a bug on anything else."""

    def command_topics(self) -> list[str]:
        return ["buggy/cmd"]

    def handle(self, topic: str, payload: bytes) -> list[Message]:
        if payload == b"ping":
            return [Message("buggy/reply", b"pong")]
        raise KeyError(payload.decode())


async def publish(mosquitto: Mosquitto, topic: str, payload: bytes) -> None:
    async with aiomqtt.Client(mosquitto.host, mosquitto.port) as client:
        await client.publish(topic, payload, qos=1)


async def test_a_bug_in_handle_fails_stop(mosquitto: Mosquitto, topic_prefix: str) -> None:
    sim = Buggy("buggy", host=mosquitto.host, port=mosquitto.port, topic_prefix=topic_prefix)
    await sim.start()
    await publish(mosquitto, f"{topic_prefix}/buggy/cmd", b"ping")
    await publish(mosquitto, f"{topic_prefix}/buggy/cmd", b"bang")
    await eventually(lambda: len(sim.received) == 2)  # the broker delivers them in order
    assert [r.payload for r in sim.received] == ["ping", "bang"]
    with pytest.raises(SimulatorCrashed, match="simulator buggy crashed: KeyError") as crashed:
        await sim.stop()
    assert crashed.value.device_id == "buggy"
    assert [type(e) for e in crashed.value.crashes] == [KeyError]
    await sim.stop()  # told once: a second stop is clean


async def test_garbage_from_a_test_is_not_a_crash(mosquitto: Mosquitto, topic_prefix: str) -> None:
    light = TasmotaLight("lamp", TasmotaOptions(convention="tasmota", topic="lamp"),
                         host=mosquitto.host, port=mosquitto.port, topic_prefix=topic_prefix)
    await light.start()
    await publish(mosquitto, f"{topic_prefix}/cmnd/lamp/POWER", b"\xff\xfe not a command")
    await publish(mosquitto, f"{topic_prefix}/cmnd/lamp/POWER", b"ON")
    await eventually(lambda: light.state.get("power") is True)
    assert light.state.get("power") is True
    await light.stop()  # raises nothing
