"""What a Device needs from whatever carries its messages: MQTT, or a serial port.

Both speak in (topic, payload) pairs. On MQTT a topic is a broker topic; on a serial port it
names a request to a unit on the line (`L1.100/ls2`), and the port hands the unit's reply
back under the same topic, so codecs decode replies exactly as they decode publications.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from typing import Protocol, Self

from common.tasks import TaskSet
from devices.errors import DeviceError

log = logging.getLogger(__name__)

# A handler gets (topic, payload, retained). `retained` is True for a message the broker
# replayed from its store because vipctl (re)subscribed, False for a live publication (the
# broker clears the flag on those, however they were sent: MQTT 3.1.1 §3.3.1.3). A retained
# message is state, never an event: it may say how things are, never trigger anything.
Handler = Callable[[str, bytes, bool], None]
ConnectionListener = Callable[[bool], None]


class TransportUnavailable(DeviceError):
    """The broker or port cannot be reached right now (or did not answer); the caller may
    retry. `topic`: what was not sent, when one was."""

    def __init__(self, message: str, *, topic: str | None = None) -> None:
        super().__init__(message)
        self.topic = topic


class Transport(Protocol):
    def subscribe(self, topic_filter: str, handler: Handler) -> None:
        """Register a handler; it stays registered across reconnects."""

    def add_connection_listener(self, listener: ConnectionListener) -> None:
        """Called with True on every (re)connection, False when the link is lost."""

    async def publish(
        self, topic: str, payload: bytes | str, *, retain: bool = False, timeout: float = 5.0
    ) -> None:
        """Send, waiting up to `timeout` for the link. Raises TransportUnavailable."""


class Connection(ABC):
    """What the MQTT connection and a serial port share: a loop that connects, and connects
    again when the link is lost, in the background from `start()` until `close()`; listeners
    told of every (re)connection and loss; handlers called in order, one's failure logged
    and never the end of the loop."""

    def __init__(self, name: str) -> None:
        self.connected = asyncio.Event()
        self._name = name
        self._listeners: list[ConnectionListener] = []
        # The connection loop first, then what it starts: stopped in reverse order.
        self._tasks = TaskSet(name, logger=log)
        self._running = False
        self._closing = False

    def add_connection_listener(self, listener: ConnectionListener) -> None:
        self._listeners.append(listener)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        if not self._running:
            self._running = True
            self._closing = False
            self._tasks.spawn(self._run(), "connection")

    async def wait_connected(self, timeout: float = 10.0) -> None:
        await asyncio.wait_for(self.connected.wait(), timeout)

    async def close(self) -> None:
        """Stop for good (after `_closing_words`). Idempotent."""
        if not self._running:
            return
        self._closing = True
        await self._closing_words()
        await self._tasks.stop()
        self._running = False

    async def _closing_words(self) -> None:
        """What to say on the link before it closes (vipctl's "offline" status)."""
        return  # nothing, unless the connection has something to say

    @abstractmethod
    async def _run(self) -> None:
        """Connect, serve, and connect again, until `_closing`."""

    def _call(
        self, handlers: Iterable[Handler], topic: str, payload: bytes, retained: bool = False
    ) -> None:
        for handler in handlers:
            try:
                handler(topic, payload, retained)
            except Exception:  # one bad handler must not end the connection
                log.exception("%s: handler for %s failed", self._name, topic)

    def _notify(self, up: bool) -> None:
        for listener in list(self._listeners):
            try:
                listener(up)
            except Exception:  # nor one bad listener
                log.exception("%s: connection listener failed", self._name)
