"""What a Device needs from whatever carries its messages: MQTT, or a serial port.

Both speak in (topic, payload) pairs. On MQTT a topic is a broker topic; on a serial port it
names a request to a unit on the line (`L1.100/ls2`), and the port hands the unit's reply
back under the same topic, so codecs decode replies exactly as they decode publications.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from devices.errors import DeviceError

Handler = Callable[[str, bytes], None]
ConnectionListener = Callable[[bool], None]


class TransportUnavailable(DeviceError):
    """The broker or port cannot be reached right now (or did not answer); the caller may retry."""


class Transport(Protocol):
    def subscribe(self, topic_filter: str, handler: Handler) -> None:
        """Register a handler; it stays registered across reconnects."""

    def add_connection_listener(self, listener: ConnectionListener) -> None:
        """Called with True on every (re)connection, False when the link is lost."""

    async def publish(
        self, topic: str, payload: bytes | str, *, retain: bool = False, timeout: float = 5.0
    ) -> None:
        """Send, waiting up to `timeout` for the link. Raises TransportUnavailable."""
