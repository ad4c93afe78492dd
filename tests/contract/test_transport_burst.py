"""A burst of commands (a group of lights) over the daemon's connection: all sent, no warnings."""

from __future__ import annotations

import asyncio
import logging

import aiomqtt
import pytest

from devices.transports.mqtt import MqttSettings, MqttTransport
from tests.broker import Mosquitto

BURST = 200  # a group of 200 lights, commanded at once


async def test_a_burst_of_qos1_commands_goes_out_without_warnings(
    mosquitto: Mosquitto, topic_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    transport = MqttTransport(MqttSettings(host=mosquitto.host, port=mosquitto.port,
                                           client_id=f"vipctl-{topic_prefix}",
                                           topic_prefix=topic_prefix))
    got: set[str] = set()
    async with aiomqtt.Client(mosquitto.host, mosquitto.port) as peer, transport:
        await peer.subscribe(f"{topic_prefix}/cmnd/+/POWER")
        await transport.wait_connected()
        with caplog.at_level(logging.WARNING):
            await asyncio.gather(*(transport.publish(f"cmnd/light_{n:03d}/POWER", "ON")
                                   for n in range(BURST)))
        async with asyncio.timeout(10):
            async for message in peer.messages:
                got.add(str(message.topic).split("/")[2])
                if len(got) == BURST:
                    break
    assert got == {f"light_{n:03d}" for n in range(BURST)}
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
