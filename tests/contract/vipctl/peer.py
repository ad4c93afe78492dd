"""A plain MQTT client in the test's namespace, and the vipctl-media and vipctl-intercom
simulators' options and codecs."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiomqtt

from devices.conventions.vipctl_intercom import VipctlIntercomCodec, VipctlIntercomOptions
from devices.conventions.vipctl_media import VipctlMediaCodec, VipctlMediaOptions
from devices.model import Message
from tests.broker import Mosquitto
from tests.waiting import WAIT_S, describe, eventually

MEDIA = VipctlMediaOptions(convention="vipctl-media", topic="vipctl/media/vip_room_tv")
INTERCOM = VipctlIntercomOptions(convention="vipctl-intercom", topic="vipctl/intercom/staff")
MT = MEDIA.topic
# Play time that the tests let pass on purpose (not settles): the behaviour under test is what
# a player's position does over time, playing, paused, or past the end of a looping item.
PLAYED_S = 0.2
PAST_THE_END_S = 0.5  # longer than the 0.3 s jingle
IT = INTERCOM.topic
ARRIVAL = "王先生已到访,请各岗位做好接待工作"


class Peer:
    """A plain MQTT client in the test's namespace: everything it saw, topics unprefixed."""

    def __init__(self, client: aiomqtt.Client, prefix: str) -> None:
        self.client = client
        self.prefix = prefix
        self.seen: list[tuple[str, bytes, bool]] = []  # (topic, payload, retain flag)

    async def send(self, message: Message) -> None:
        await self.client.publish(f"{self.prefix}/{message.topic}", message.payload, qos=1)

    async def raw(self, topic: str, payload: bytes) -> None:
        await self.client.publish(f"{self.prefix}/{topic}", payload, qos=1)

    def on(self, topic: str) -> list[dict[str, Any]]:
        return [json.loads(p) for t, p, _ in self.seen if t == topic and p.startswith(b"{")]

    def payloads(self, topic: str) -> list[bytes]:
        return [p for t, p, _ in self.seen if t == topic]

    async def expect(
        self, topic: str, predicate: Callable[[dict[str, Any]], bool] = lambda _: True,
        timeout: float = WAIT_S,
    ) -> dict[str, Any]:
        """The first JSON message on `topic` (since the start) that satisfies `predicate`."""
        return await eventually(
            lambda: next((body for body in self.on(topic) if predicate(body)), None),
            timeout, what=f"a message on {topic} that satisfies {describe(predicate)}")

    async def expect_payload(self, topic: str, payload: bytes) -> None:
        await eventually(lambda: payload in self.payloads(topic), WAIT_S,
                         what=f"{payload!r} on {topic}")


async def _listen(client: aiomqtt.Client, peer: Peer) -> None:
    async for msg in client.messages:
        topic = str(msg.topic).removeprefix(peer.prefix + "/")
        payload = msg.payload if isinstance(msg.payload, bytes) else str(msg.payload).encode()
        peer.seen.append((topic, payload, msg.retain))


async def connect_peer(broker: Mosquitto, prefix: str) -> AsyncIterator[Peer]:
    async with aiomqtt.Client(
        broker.host, broker.port, socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
    ) as client:
        await client.subscribe(f"{prefix}/#", qos=1)
        peer = Peer(client, prefix)
        task = asyncio.create_task(_listen(client, peer))
        try:
            yield peer
        finally:
            task.cancel()


def media_codec() -> VipctlMediaCodec:
    return VipctlMediaCodec("vip_tv", "media", MEDIA)


def intercom_codec() -> VipctlIntercomCodec:
    return VipctlIntercomCodec("staff", "intercom", INTERCOM)
