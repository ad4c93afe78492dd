"""One MQTT connection per daemon: reconnects, replays subscriptions, announces vipctl itself.

The subscription registry lives here, apart from any one connection, and is replayed on
every reconnect (as Home Assistant's MQTT client does). Handlers are plain callbacks run in
the event loop, in arrival order; a handler that raises is logged and never ends the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
import ssl
from dataclasses import dataclass

import aiomqtt

from devices.model import prefixed, unprefixed
from devices.transports.base import Connection, Handler, TransportUnavailable
from devices.transports.prompt_client import PromptClient

log = logging.getLogger(__name__)

# Reconnect backoff: full jitter between half and all of an exponentially growing delay, so
# that many vipctl instances behind one broker restart do not reconnect in lockstep.
BACKOFF_MIN_S = 0.2
BACKOFF_MAX_S = 10.0
# QoS 1 for commands and vipctl's status: at least once, which every convention tolerates
# (commands are idempotent states, announcements carry an id).
COMMAND_QOS = 1
# Nagle's algorithm with delayed ACKs holds a QoS 1 publish for 20-45 ms; off it is ~0.5 ms.
NODELAY = (socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
# aiomqtt logs a warning for every publish beyond 10 awaiting their acknowledgement; a group
# command to 200 lights (or the state queries of a 1,000-device site at connect) is that many
# by design, not a fault: warn only far beyond it.
PENDING_PUBLISH_WARNING = 5000
# Topics whose handlers are remembered (every device's few, on a 1,000-device site).
MAX_ROUTES = 20_000

__all__ = ["MqttSettings", "MqttTransport", "PromptClient", "TransportUnavailable"]


@dataclass(frozen=True, slots=True)
class MqttSettings:
    host: str
    port: int = 1883
    username: str | None = None
    password: str | None = None
    client_id: str = "vipctl"
    ca_file: str | None = None
    tls: bool = False
    keepalive: int = 30
    topic_prefix: str = ""
    status_topic: str | None = None  # vipctl's own retained "online"/"offline"
    # False: a persistent session (MQTT 3.1.1 clean session off). The broker keeps this
    # client id's subscriptions while it is away and queues the QoS 1 messages meant for
    # it, delivered when it connects again (the link's booking requests). Devices' own
    # connection keeps it True: a button press queued while vipctl was down is stale.
    clean_session: bool = True


class MqttTransport(Connection):
    """The daemon's connection to the broker. Use as `async with MqttTransport(...)`."""

    def __init__(self, settings: MqttSettings) -> None:
        super().__init__(f"mqtt:{settings.client_id}")
        self.settings = settings
        self.connects = 0  # how many times a connection was made (tests and status)
        self._exact: dict[str, list[Handler]] = {}
        self._wild: dict[str, list[Handler]] = {}
        self._client: PromptClient | None = None
        # Topic → its handlers, exact and wildcard, found once (cleared by a subscribe).
        self._routes: dict[str, list[Handler]] = {}

    # --- registry ----------------------------------------------------------------------

    def subscribe(self, topic_filter: str, handler: Handler) -> None:
        """Register a handler; it stays subscribed across reconnects."""
        table = self._wild if ("+" in topic_filter or "#" in topic_filter) else self._exact
        first = topic_filter not in table
        table.setdefault(topic_filter, []).append(handler)
        self._routes.clear()
        client = self._client
        if first and client is not None and self.connected.is_set():
            self._tasks.spawn(self._subscribe_later(client, topic_filter), "subscribe")

    # --- publishing --------------------------------------------------------------------

    async def publish(
        self,
        topic: str,
        payload: bytes | str,
        *,
        qos: int = COMMAND_QOS,
        retain: bool = False,
        timeout: float = 5.0,
    ) -> None:
        """Publish, waiting up to `timeout` for a connection. Raises TransportUnavailable."""
        if not self.connected.is_set():
            try:
                await asyncio.wait_for(self.connected.wait(), timeout)
            except TimeoutError:
                raise TransportUnavailable(f"not connected; {topic} not sent",
                                           topic=topic) from None
        client = self._client
        if client is None:
            raise TransportUnavailable(f"connection lost; {topic} not sent", topic=topic)
        try:
            await client.publish_acked(
                prefixed(self.settings.topic_prefix, topic), payload, qos=qos, retain=retain,
                timeout=timeout,
            )
        except aiomqtt.MqttError as exc:
            raise TransportUnavailable(f"{topic} not sent: {exc}", topic=topic) from exc

    # --- lifecycle ---------------------------------------------------------------------

    def socket(self) -> socket.socket | None:
        """The connection's socket while connected (to look at its options, or to cut it
        as a lost link would)."""
        client = self._client
        if client is None:
            return None
        # aiomqtt keeps its paho client private (pinned in pyproject.toml).
        sock = client._client.socket()  # noqa: SLF001
        return sock if isinstance(sock, socket.socket) else None

    async def _closing_words(self) -> None:
        """Say offline (the last will is only for a lost connection)."""
        client, status = self._client, self.settings.status_topic
        if client is not None and status and self.connected.is_set():
            with contextlib.suppress(aiomqtt.MqttError, TimeoutError):
                await client.publish(
                    prefixed(self.settings.topic_prefix, status), "offline", qos=1, retain=True,
                    timeout=2,
                )

    # --- the connection loop -----------------------------------------------------------

    def _make_client(self) -> PromptClient:
        s = self.settings
        will = None
        if s.status_topic:
            will = aiomqtt.Will(prefixed(s.topic_prefix, s.status_topic), "offline", 1, True)
        tls_context = None
        if s.tls:
            tls_context = ssl.create_default_context(cafile=s.ca_file)
        client = PromptClient(
            s.host,
            s.port,
            username=s.username,
            password=s.password,
            identifier=s.client_id,
            keepalive=s.keepalive,
            will=will,
            tls_context=tls_context,
            socket_options=[NODELAY],
            timeout=10,
            clean_session=s.clean_session,
            deliver=self._dispatch,
        )
        client.pending_calls_threshold = PENDING_PUBLISH_WARNING
        return client

    async def _run(self) -> None:
        attempt = 0
        while not self._closing:
            try:
                async with self._make_client() as client:
                    self._client = client
                    attempt = 0
                    await self._on_connected(client)
                    # Messages go to _dispatch as paho reads them (PromptClient's `deliver`):
                    # the iterator only ends, by raising, when the link is lost.
                    async for _ in client.messages:
                        pass
            except aiomqtt.MqttError as exc:
                if self._closing:
                    return
                log.warning("MQTT connection to %s:%s lost or refused: %s",
                            self.settings.host, self.settings.port, exc)
            finally:
                self._client = None
                if self.connected.is_set():
                    self.connected.clear()
                    self._notify(False)
            delay = min(BACKOFF_MAX_S, BACKOFF_MIN_S * 2**attempt) * random.uniform(0.5, 1.0)
            attempt = min(attempt + 1, 16)
            await asyncio.sleep(delay)

    async def _on_connected(self, client: PromptClient) -> None:
        filters = [*self._exact, *self._wild]
        if filters:
            await self._subscribe_now(client, filters)
        status = self.settings.status_topic
        if status:
            await client.publish(
                prefixed(self.settings.topic_prefix, status), "online", qos=1, retain=True
            )
        self.connects += 1
        self.connected.set()
        log.info("MQTT connected to %s:%s (%d subscriptions)",
                 self.settings.host, self.settings.port, len(filters))
        self._notify(True)

    async def _subscribe_later(self, client: PromptClient, topic_filter: str) -> None:
        """A filter added while connected; if the connection drops first, the reconnect
        subscribes it with the others."""
        with contextlib.suppress(aiomqtt.MqttError):
            await self._subscribe_now(client, [topic_filter])

    async def _subscribe_now(self, client: PromptClient, filters: list[str]) -> None:
        prefix = self.settings.topic_prefix
        # Brokers cap the topics in one SUBSCRIBE; batches keep a 1,000-device site fast.
        for i in range(0, len(filters), 100):
            batch = [(prefixed(prefix, f), COMMAND_QOS) for f in filters[i : i + 100]]
            await client.subscribe(batch)

    def _dispatch(self, wire_topic: str, payload: bytes, retained: bool) -> None:
        topic = unprefixed(self.settings.topic_prefix, wire_topic)
        if topic is None:
            return
        handlers = self._routes.get(topic)
        if handlers is None:
            handlers = self._route(topic)
        self._call(handlers, topic, payload, retained)

    def _route(self, topic: str) -> list[Handler]:
        handlers = list(self._exact.get(topic, ()))
        parsed = aiomqtt.Topic(topic)
        for pattern, hs in self._wild.items():
            if parsed.matches(pattern):
                handlers.extend(hs)
        if len(self._routes) >= MAX_ROUTES:  # a wildcard over endless topics: start again
            self._routes.clear()
        self._routes[topic] = handlers
        return handlers
