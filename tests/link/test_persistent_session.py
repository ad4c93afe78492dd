"""MqttTransport's clean_session=False: what comes for it while it is away is delivered when
it connects again (the link's booking requests); a clean session loses it. Real mosquitto."""

from __future__ import annotations

import aiomqtt
import pytest

from devices.transports.mqtt import MqttSettings, MqttTransport
from tests.broker import Mosquitto
from tests.waiting import eventually


@pytest.mark.parametrize("clean", [False, True])
async def test_a_persistent_session_gets_what_came_while_it_was_away(
        mosquitto: Mosquitto, topic_prefix: str, clean: bool) -> None:
    settings = MqttSettings(host=mosquitto.host, port=mosquitto.port,
                            client_id=f"{topic_prefix}-session", topic_prefix=topic_prefix,
                            clean_session=clean)
    heard: list[bytes] = []
    first = MqttTransport(settings)
    first.subscribe("queue/me", lambda _t, payload, _r: heard.append(payload))
    await first.start()
    await first.wait_connected(5)
    await first.close()
    async with aiomqtt.Client(mosquitto.host, mosquitto.port) as peer:
        await peer.publish(f"{topic_prefix}/queue/me", b"while away", qos=1)
        await peer.publish(f"{topic_prefix}/queue/me", b"marker", qos=1)
        again = MqttTransport(settings)
        again.subscribe("queue/me", lambda _t, payload, _r: heard.append(payload))
        await again.start()
        try:
            await again.wait_connected(5)
            await peer.publish(f"{topic_prefix}/queue/me", b"after", qos=1)
            await eventually(lambda: b"after" in heard)
        finally:
            await again.close()
    assert heard == [b"after"] if clean else heard == [b"while away", b"marker", b"after"]
