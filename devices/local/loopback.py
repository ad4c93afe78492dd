"""An in-process message bus: how the daemon talks to the players and speakers it runs itself.

The local device and the controller's Device exchange the very messages they would exchange
over MQTT (the same codec, the same device-side code as `vipctl agent media`), only without a
broker: a local player keeps the music on even while the broker is down. Retained messages
are kept and replayed to a new subscriber, flagged retained, as a broker does. Delivery is
always deferred to the event loop, never inside publish(), so a handler can publish without
re-entering itself.
"""

from __future__ import annotations

import asyncio
import logging

from devices.transports.base import ConnectionListener, Handler
from devices.transports.mqtt import TransportUnavailable

log = logging.getLogger(__name__)


class LoopbackTransport:
    """A tiny broker for one process: exact topics only (no wildcards)."""

    def __init__(self, name: str = "local") -> None:
        self.name = name
        self.connected = asyncio.Event()
        self._handlers: dict[str, list[Handler]] = {}
        self._retained: dict[str, bytes] = {}
        self._listeners: list[ConnectionListener] = []

    def subscribe(self, topic_filter: str, handler: Handler) -> None:
        if "+" in topic_filter or "#" in topic_filter:
            raise ValueError(f"{self.name}: the loopback takes exact topics, not {topic_filter!r}")
        self._handlers.setdefault(topic_filter, []).append(handler)
        if topic_filter in self._retained:
            payload = self._retained[topic_filter]
            asyncio.get_running_loop().call_soon(self._call, handler, topic_filter, payload, True)

    def add_connection_listener(self, listener: ConnectionListener) -> None:
        self._listeners.append(listener)

    async def publish(
        self, topic: str, payload: bytes | str, *, qos: int = 1, retain: bool = False,
        timeout: float = 5.0,
    ) -> None:
        if not self.connected.is_set():
            raise TransportUnavailable(f"{self.name} is not running; {topic} not sent",
                                       topic=topic)
        data = payload.encode() if isinstance(payload, str) else payload
        if retain:
            if data:
                self._retained[topic] = data
            else:  # an empty retained message clears, as on a broker
                self._retained.pop(topic, None)
        loop = asyncio.get_running_loop()
        for handler in list(self._handlers.get(topic, ())):
            loop.call_soon(self._call, handler, topic, data, False)

    def connect(self) -> None:
        """The local device is up: publishing works, listeners hear of it."""
        self.connected.set()
        self._notify(True)

    def disconnect(self) -> None:
        self.connected.clear()
        self._notify(False)

    def _call(self, handler: Handler, topic: str, payload: bytes, retained: bool) -> None:
        try:
            handler(topic, payload, retained)
        except Exception:  # one bad handler must not stop the others
            log.exception("%s: handler for %s failed", self.name, topic)

    def _notify(self, up: bool) -> None:
        for listener in list(self._listeners):
            try:
                listener(up)
            except Exception:
                log.exception("%s: connection listener failed", self.name)
