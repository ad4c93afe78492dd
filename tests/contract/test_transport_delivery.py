"""Incoming messages go from paho's socket reader straight to vipctl's handlers
(devices/transports/prompt_client.py): every one, in order, with its retained flag, whatever
the handlers do; and what a loop turn sends leaves in one piece, still all of it."""

from __future__ import annotations

import asyncio
import json

import aiomqtt

from devices.transports.mqtt import NODELAY, MqttSettings, MqttTransport
from devices.transports.prompt_client import RECV_BYTES, PromptClient
from tests.broker import Mosquitto
from tests.waiting import eventually


def settings(broker: Mosquitto, prefix: str) -> MqttSettings:
    return MqttSettings(host=broker.host, port=broker.port, client_id=f"vipctl-{prefix}",
                        topic_prefix=prefix)


async def test_a_burst_arrives_whole_and_in_order(mosquitto: Mosquitto, topic_prefix: str) -> None:
    """A thousand messages read many to a piece of the socket, QoS 0 and 1 mixed, and a
    payload larger than one read: each once, in the order sent (per QoS: the broker passes
    QoS 0 ones by the QoS 1 ones waiting their turn in flight). (Not more: beyond 1,000
    queued for a subscriber, Mosquitto drops them, `max_queued_messages`.)"""
    got: list[tuple[str, bytes]] = []
    transport = MqttTransport(settings(mosquitto, topic_prefix))
    transport.subscribe("stat/+/RESULT", lambda t, p, _: got.append((t, p)))
    big = b"x" * (RECV_BYTES * 2 + 17)
    sent = [(f"stat/light_{n % 7}/RESULT", json.dumps({"n": n}).encode()) for n in range(999)]
    sent.insert(501, ("stat/light_big/RESULT", big))  # QoS 1, as its neighbour 500
    # Sent without waiting for each (in one send per loop turn): they reach the transport
    # back to back, many to a read.
    peer = PromptClient(mosquitto.host, mosquitto.port, socket_options=[NODELAY])
    async with transport, peer:
        await transport.wait_connected()
        for topic, payload in sent:
            peer.publish_nowait(f"{topic_prefix}/{topic}", payload, qos=qos(payload),
                                retain=False)
        await eventually(lambda: len(got) >= len(sent), timeout=20)
        assert transport.connects == 1
    assert sorted(got) == sorted(sent)
    for level in (0, 1):
        assert [m for m in got if qos(m[1]) == level] == [m for m in sent if qos(m[1]) == level]


def qos(payload: bytes) -> int:
    return 1 if payload.startswith(b"x") else json.loads(payload)["n"] % 2


async def test_retained_flag_is_seen(mosquitto: Mosquitto, topic_prefix: str) -> None:
    got: list[tuple[bytes, bool]] = []
    async with aiomqtt.Client(mosquitto.host, mosquitto.port) as peer:
        await peer.publish(f"{topic_prefix}/tele/lamp/LWT", "Online", qos=1, retain=True)
        transport = MqttTransport(settings(mosquitto, topic_prefix))
        transport.subscribe("tele/lamp/LWT", lambda t, p, retained: got.append((p, retained)))
        async with transport:
            await transport.wait_connected()
            await eventually(lambda: got)
            await peer.publish(f"{topic_prefix}/tele/lamp/LWT", "Offline", qos=1)
            await eventually(lambda: len(got) >= 2)
        await peer.publish(f"{topic_prefix}/tele/lamp/LWT", b"", retain=True)  # clean up
    assert got == [(b"Online", True), (b"Offline", False)]


async def test_a_failing_receiver_does_not_end_the_connection(
    mosquitto: Mosquitto, topic_prefix: str
) -> None:
    """Even what escapes the transport's own guard (here the client's receiver itself)
    is logged, and the link and the messages after it go on."""
    got: list[bytes] = []

    def deliver(topic: str, payload: bytes, retained: bool) -> None:
        got.append(payload)
        if payload.startswith(b"bad"):
            raise RuntimeError("boom")

    client = PromptClient(mosquitto.host, mosquitto.port, deliver=deliver)
    async with client, aiomqtt.Client(mosquitto.host, mosquitto.port) as peer:
        await client.subscribe(f"{topic_prefix}/a", qos=1)
        for payload in (b"bad 1", b"ok 2", b"bad 3", b"ok 4"):
            await peer.publish(f"{topic_prefix}/a", payload, qos=1)
        await eventually(lambda: len(got) >= 4)
        # Still connected: a publish round trip through the broker works.
        await client.publish_acked(f"{topic_prefix}/a", b"ok 5", qos=1, retain=False,
                                   timeout=5)
        await eventually(lambda: len(got) >= 5)
    assert got == [b"bad 1", b"ok 2", b"bad 3", b"ok 4", b"ok 5"]


async def test_publishes_of_one_turn_all_arrive_in_order(
    mosquitto: Mosquitto, topic_prefix: str
) -> None:
    """A group command's publishes, made in one loop turn, leave together: every one is
    acknowledged and reaches a subscriber, in order."""
    transport = MqttTransport(settings(mosquitto, topic_prefix))
    got: list[bytes] = []
    async with aiomqtt.Client(mosquitto.host, mosquitto.port) as peer, transport:
        await peer.subscribe(f"{topic_prefix}/cmnd/#", qos=1)
        await transport.wait_connected()
        await asyncio.gather(*(transport.publish("cmnd/group/POWER", str(n))
                               for n in range(500)))
        async with asyncio.timeout(10):
            async for message in peer.messages:
                assert isinstance(message.payload, bytes)
                got.append(message.payload)
                if len(got) == 500:
                    break
    assert got == [str(n).encode() for n in range(500)]
