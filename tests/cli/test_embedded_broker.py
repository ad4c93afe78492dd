"""The demo's in-process broker: real MQTT 3.1.1 on loopback, gone without a trace when stopped."""

from __future__ import annotations

import asyncio
import socket

import aiomqtt

from controller.demo.broker import EmbeddedBroker


async def test_clients_talk_through_it_and_stop_leaves_nothing() -> None:
    before = asyncio.all_tasks()
    broker = EmbeddedBroker()
    await broker.start()
    assert broker.port != 0
    assert broker.url == f"mqtt://127.0.0.1:{broker.port}"

    async with aiomqtt.Client(broker.host, broker.port, identifier="device") as device:
        await device.publish("tele/model_area/LWT", b"Online", qos=1, retain=True)
        async with aiomqtt.Client(broker.host, broker.port, identifier="vipctl") as vipctl:
            await vipctl.subscribe("tele/+/LWT", qos=1)  # the retained message comes at once
            await vipctl.subscribe("stat/model_area/POWER", qos=1)
            await device.publish("stat/model_area/POWER", b"ON", qos=1)
            got = []
            async with asyncio.timeout(5):
                async for message in vipctl.messages:
                    got.append((str(message.topic), message.payload, message.retain))
                    if len(got) == 2:
                        break
    assert got == [("tele/model_area/LWT", b"Online", True),
                   ("stat/model_area/POWER", b"ON", False)]

    await broker.stop()
    await broker.stop()  # idempotent
    assert not broker.running
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", broker.port)) != 0
    await asyncio.sleep(0)  # one turn of the loop, in which the tasks stop() ended finish
    left = [t for t in asyncio.all_tasks() - before if not t.done()]
    assert left == []


async def test_two_brokers_get_two_ports() -> None:
    async with EmbeddedBroker() as one, EmbeddedBroker() as two:
        assert one.port != two.port
        async with aiomqtt.Client(two.host, two.port) as client:
            await client.publish("x", b"y", qos=1)
