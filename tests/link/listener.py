"""Head office's side of the wire in tests: a plain MQTT client that records what it hears
under vipctl/ and publishes booking requests, on a real broker."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import aiomqtt

from common.tasks import TaskSet
from controller.link.wire import BookingReply, EventMessage, Summary
from devices.model import prefixed


@dataclass
class Heard:
    topic: str
    payload: bytes
    retain: bool


@dataclass
class Listener:
    client: aiomqtt.Client
    prefix: str
    heard: list[Heard] = field(default_factory=list)

    def on(self, topic: str) -> list[Heard]:
        wire = prefixed(self.prefix, topic)
        return [h for h in self.heard if h.topic == wire]

    def events(self, site: str) -> list[EventMessage]:
        return [EventMessage.model_validate_json(h.payload)
                for h in self.on(f"vipctl/{site}/events")]

    def summaries(self, site: str) -> list[Summary]:
        return [Summary.model_validate_json(h.payload)
                for h in self.on(f"vipctl/{site}/summary") if h.payload]

    def replies(self, site: str, request_id: str | None = None) -> list[BookingReply]:
        replies = [BookingReply.model_validate_json(h.payload)
                   for h in self.on(f"vipctl/{site}/bookings/reply")]
        return [r for r in replies if request_id is None or r.request_id == request_id]

    async def publish(self, topic: str, payload: bytes | str, *, retain: bool = False) -> None:
        await self.client.publish(prefixed(self.prefix, topic), payload, qos=1, retain=retain)


async def _collect(client: aiomqtt.Client, into: list[Heard]) -> None:
    async for message in client.messages:
        payload = message.payload if isinstance(message.payload, bytes) else b""
        into.append(Heard(str(message.topic), payload, message.retain))


@asynccontextmanager
async def listening(host: str, port: int, prefix: str, *, topic: str = "vipctl/#",
                    client_id: str = "") -> AsyncIterator[Listener]:
    """A client subscribed (QoS 1) to `topic` under `prefix` until the block ends."""
    tasks = TaskSet("listener")
    async with aiomqtt.Client(host, port, identifier=client_id or None) as client:
        listener = Listener(client, prefix)
        await client.subscribe(prefixed(prefix, topic), qos=1)
        tasks.spawn(_collect(client, listener.heard), "collect")
        try:
            yield listener
        finally:
            with contextlib.suppress(asyncio.CancelledError):
                await tasks.stop()
