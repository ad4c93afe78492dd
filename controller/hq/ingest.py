"""The ingest: one persistent MQTT session on the head-office broker, every site's messages
stored in batches, each acknowledged only once its batch is committed.

Why manual acknowledgements: paho acknowledges a QoS 1 message as it arrives, so a crash
between arrival and commit would lose what the broker then thinks delivered. Here the
PUBACK goes out after the commit; a crash before it leaves the message with the broker,
which sends it again to the same session (clean_session false, a fixed client id), and the
event's id makes the second copy a no-op. The broker's `max_inflight_messages` caps how many
unacknowledged messages it sends at once, and so the batch size (docs/hq.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import ssl
import time
from dataclasses import dataclass

import aiomqtt

from controller.hq.config import HqMqttSettings
from controller.hq.garbage import GarbageLog
from controller.hq.inbound import SUBSCRIPTIONS, Inbound, Refused, read
from controller.hq.store import HqStore
from devices.model import prefixed, unprefixed
from devices.transports.mqtt import BACKOFF_MAX_S, BACKOFF_MIN_S, NODELAY, PromptClient

log = logging.getLogger(__name__)

QOS = 1
# A batch is written when it holds this many messages or its first is this old (seconds):
# under load batches fill, and a lone event still shows on the page within a blink.
BATCH_MAX = 1000
BATCH_WAIT_S = 0.05
# A batch that fails to commit (the database away) is tried again after this (seconds);
# its messages stay unacknowledged meanwhile, so nothing is lost.
RETRY_S = 1.0


@dataclass
class IngestStats:
    messages: int = 0  # received
    committed: int = 0  # received and in a committed batch (refused ones too)
    stored_events: int = 0
    refused: int = 0
    batches: int = 0
    connects: int = 0
    last_batch_s: float = 0.0
    failures: int = 0


@dataclass(frozen=True, slots=True)
class _Held:
    item: Inbound | None  # None: refused, acknowledged with its batch all the same
    client: aiomqtt.Client
    mid: int
    qos: int


class Ingest:
    """Run with `await ingest.run()` until cancelled; `connected` is set while subscribed."""

    def __init__(self, settings: HqMqttSettings, store: HqStore, *,
                 batch_max: int = BATCH_MAX, batch_wait: float = BATCH_WAIT_S) -> None:
        self.settings = settings
        self.store = store
        self.batch_max = batch_max
        self.batch_wait = batch_wait
        self.stats = IngestStats()
        self.garbage = GarbageLog(log)
        self.connected = asyncio.Event()
        self.client: aiomqtt.Client | None = None
        self._held: list[_Held] = []
        self._arrived = asyncio.Event()
        self._full = asyncio.Event()

    def _make_client(self) -> aiomqtt.Client:
        s = self.settings
        tls = ssl.create_default_context(cafile=s.ca_file) if s.connection.tls else None
        client = PromptClient(
            s.connection.host, s.connection.port,
            username=s.username.get_secret_value() if s.username else None,
            password=s.password.get_secret_value() if s.password else None,
            identifier=s.client_id, clean_session=False, keepalive=s.keepalive,
            tls_context=tls, socket_options=[NODELAY], timeout=10)
        client.pending_calls_threshold = 10_000
        # paho's own switch (aiomqtt has none): PUBACK only when ack() is called.
        client._client.manual_ack_set(True)  # noqa: SLF001 - paho's; pinned in pyproject.toml
        return client

    async def run(self) -> None:
        writer = asyncio.create_task(self._write_loop(), name="hq:writer")
        try:
            await self._receive_loop()
        finally:
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer

    async def _receive_loop(self) -> None:
        attempt = 0
        host, port, _ = self.settings.connection
        while True:
            try:
                async with self._make_client() as client:
                    self.client = client
                    await client.subscribe([(prefixed(self.settings.topic_prefix, f), QOS)
                                            for f in SUBSCRIPTIONS])
                    attempt = 0
                    self.stats.connects += 1
                    self.connected.set()
                    log.info("head office subscribed on %s:%s", host, port)
                    async for message in client.messages:
                        self._take(client, message)
            except aiomqtt.MqttError as exc:
                log.warning("head office's MQTT connection to %s:%s lost or refused: %s",
                            host, port, exc)
            finally:
                self.client = None
                self.connected.clear()
            delay = min(BACKOFF_MAX_S, BACKOFF_MIN_S * 2**attempt) * random.uniform(0.5, 1.0)
            attempt = min(attempt + 1, 16)
            await asyncio.sleep(delay)

    def _take(self, client: aiomqtt.Client, message: aiomqtt.Message) -> None:
        self.stats.messages += 1
        topic = unprefixed(self.settings.topic_prefix, str(message.topic))
        payload = message.payload if isinstance(message.payload, bytes) else b""
        item: Inbound | None = None
        if topic is not None:
            found = read(topic, payload)
            if isinstance(found, Refused):
                self.stats.refused += 1
                self.garbage.refused(found)
            else:
                item = found
        self._held.append(_Held(item, client, message.mid, message.qos))
        self._arrived.set()
        if len(self._held) >= self.batch_max:
            self._full.set()

    async def _write_loop(self) -> None:
        while True:
            await self._arrived.wait()
            if len(self._held) < self.batch_max:
                # Let the batch fill: under load it does long before the wait is over.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._full.wait(), self.batch_wait)
            held, self._held = self._held[: self.batch_max], self._held[self.batch_max:]
            if len(self._held) < self.batch_max:
                self._full.clear()
            if not self._held:
                self._arrived.clear()
            if held:
                await self._commit(held)

    async def _commit(self, held: list[_Held]) -> None:
        items = [h.item for h in held if h.item is not None]
        while True:
            began = time.perf_counter()
            try:
                written = await asyncio.to_thread(self.store.write, items)
                break
            except Exception:  # the database away or a bug: keep the messages, say why
                self.stats.failures += 1
                log.exception("head office could not store a batch of %d; retrying", len(items))
                await asyncio.sleep(RETRY_S)
        self.stats.batches += 1
        self.stats.committed += len(held)
        self.stats.stored_events += written.events
        self.stats.last_batch_s = time.perf_counter() - began
        for h in held:
            # A message from a connection since lost is not acknowledged: the broker sends it
            # again on the new one, and it is stored once all the same.
            if h.qos > 0 and h.client is self.client:
                h.client._client.ack(h.mid, h.qos)  # noqa: SLF001 - see _make_client
