"""The daemon's MQTT connection against a real mosquitto."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator

import aiomqtt
import pytest

from devices.transports.mqtt import MqttSettings, MqttTransport, TransportUnavailable
from tests.broker import Mosquitto
from tests.waiting import eventually


def settings(broker: Mosquitto, prefix: str, **kw: object) -> MqttSettings:
    return MqttSettings(
        host=broker.host, port=broker.port, client_id=f"vipctl-{prefix}", topic_prefix=prefix,
        status_topic="vipctl/status", keepalive=5, **kw,  # type: ignore[arg-type]
    )


@pytest.fixture
async def peer(mosquitto: Mosquitto) -> AsyncIterator[aiomqtt.Client]:
    async with aiomqtt.Client(mosquitto.host, mosquitto.port) as client:
        yield client


async def next_message(client: aiomqtt.Client, timeout: float = 5) -> aiomqtt.Message:
    async with asyncio.timeout(timeout):
        async for message in client.messages:
            return message
    raise AssertionError("no message")


async def test_subscribe_publish_with_prefix(
    mosquitto: Mosquitto, topic_prefix: str, peer: aiomqtt.Client
) -> None:
    got: list[tuple[str, bytes]] = []
    transport = MqttTransport(settings(mosquitto, topic_prefix))
    transport.subscribe("stat/lamp/POWER", lambda t, p, _: got.append((t, p)))
    transport.subscribe("tele/+/LWT", lambda t, p, _: got.append((t, p)))
    await peer.subscribe(f"{topic_prefix}/cmnd/#")
    async with transport:
        await transport.wait_connected()
        await transport.publish("cmnd/lamp/POWER", "ON")
        message = await next_message(peer)
        assert (str(message.topic), message.payload) == (f"{topic_prefix}/cmnd/lamp/POWER", b"ON")
        await peer.publish(f"{topic_prefix}/stat/lamp/POWER", "ON")
        await peer.publish(f"{topic_prefix}/tele/lamp/LWT", "Online")
        await peer.publish("stat/lamp/POWER", "OFF")  # outside the namespace: not ours
        # Sent after it on the same connection: once this is here, the one before it would be.
        await peer.publish(f"{topic_prefix}/tele/lamp/LWT", "Offline")
        await eventually(lambda: len(got) >= 3)
    assert got == [("stat/lamp/POWER", b"ON"), ("tele/lamp/LWT", b"Online"),
                   ("tele/lamp/LWT", b"Offline")]


async def test_status_is_retained_online_then_offline(
    mosquitto: Mosquitto, topic_prefix: str
) -> None:
    transport = MqttTransport(settings(mosquitto, topic_prefix))
    async with transport:
        await transport.wait_connected()
        async with aiomqtt.Client(mosquitto.host, mosquitto.port) as watcher:
            await watcher.subscribe(f"{topic_prefix}/vipctl/status")
            message = await next_message(watcher)
            assert message.retain and message.payload == b"online"
    async with aiomqtt.Client(mosquitto.host, mosquitto.port) as watcher:
        await watcher.subscribe(f"{topic_prefix}/vipctl/status")
        message = await next_message(watcher)
        assert message.payload == b"offline"


async def test_last_will_fires_when_the_link_is_lost(
    mosquitto: Mosquitto, topic_prefix: str
) -> None:
    transport = MqttTransport(settings(mosquitto, topic_prefix))
    async with aiomqtt.Client(mosquitto.host, mosquitto.port) as watcher:
        await watcher.subscribe(f"{topic_prefix}/vipctl/status")
        async with transport:
            await transport.wait_connected()
            assert (await next_message(watcher)).payload == b"online"
            sock = transport.socket()
            assert sock is not None
            sock.shutdown(socket.SHUT_RDWR)  # the link dies without a DISCONNECT
            assert (await next_message(watcher)).payload == b"offline"
            # ...and the transport reconnects by itself and says online again.
            assert (await next_message(watcher)).payload == b"online"


async def test_socket_has_tcp_nodelay(mosquitto: Mosquitto, topic_prefix: str) -> None:
    async with MqttTransport(settings(mosquitto, topic_prefix)) as transport:
        await transport.wait_connected()
        sock = transport.socket()
        assert sock is not None
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


async def test_broker_restart_reconnects_and_replays_subscriptions(
    own_mosquitto: Mosquitto, topic_prefix: str
) -> None:
    got: list[bytes] = []
    transport = MqttTransport(settings(own_mosquitto, topic_prefix))
    transport.subscribe("stat/lamp/POWER", lambda t, p, _: got.append(p))
    async with transport:
        await transport.wait_connected()
        own_mosquitto.stop()
        await eventually(lambda: not transport.connected.is_set())
        with pytest.raises(TransportUnavailable):
            await transport.publish("cmnd/lamp/POWER", "ON", timeout=0.2)
        own_mosquitto.start()
        await transport.wait_connected(timeout=15)
        assert transport.connects == 2
        async with aiomqtt.Client(own_mosquitto.host, own_mosquitto.port) as peer:
            await peer.publish(f"{topic_prefix}/stat/lamp/POWER", "ON")
            await eventually(lambda: got)
    assert got == [b"ON"]


async def test_a_failing_handler_does_not_stop_delivery(
    mosquitto: Mosquitto, topic_prefix: str, peer: aiomqtt.Client
) -> None:
    got: list[bytes] = []

    def broken(topic: str, payload: bytes, retained: bool) -> None:
        raise ValueError("boom")

    transport = MqttTransport(settings(mosquitto, topic_prefix))
    transport.subscribe("a", broken)
    transport.subscribe("a", lambda t, p, _: got.append(p))
    async with transport:
        await transport.wait_connected()
        await peer.publish(f"{topic_prefix}/a", "1")
        await peer.publish(f"{topic_prefix}/a", "2")
        await eventually(lambda: len(got) >= 2)
    assert got == [b"1", b"2"]


@pytest.mark.parametrize("peer_does", ["closes", "says nothing"])
async def test_a_link_lost_before_the_connack_is_retried_at_once(peer_does: str) -> None:
    """A peer that takes the TCP connection and then closes it (a proxy whose broker is
    down) or answers nothing (a half-open link, found by paho's keepalive): the connect
    fails within a second or two and is tried again, instead of waiting aiomqtt's 10 s."""
    accepted: list[float] = []
    writers: list[asyncio.StreamWriter] = []
    loop = asyncio.get_running_loop()

    async def peer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(loop.time())
        writers.append(writer)
        if peer_does == "closes":
            writer.close()
            return
        await reader.read()  # until the client gives up and closes
        writer.close()

    server = await asyncio.start_server(peer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    transport = MqttTransport(MqttSettings(host="127.0.0.1", port=port, keepalive=1))
    async with server, transport:
        await eventually(lambda: len(accepted) >= 3, timeout=8)
    for writer in writers:  # the peer's ends, closed before the loop is
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    # Three attempts in well under one 10 s connect timeout.
    assert accepted[2] - accepted[0] < 6
