"""One serial port: one owner, one request at a time, reopened when it disappears.

A SerialPort is a Transport (devices/transports/base.py): `publish(topic, request)` writes
the request, waits for the reply (the convention's Framing says where it ends) within the
port's reply timeout, and hands the reply to the handlers subscribed to the topic. Requests
never interleave: a lock covers write and reply. When the port goes away (a USB adapter
pulled, a serial-over-TCP server restarted) every device on it hears `$port offline`; the
port is reopened with jittered backoff, and on its return the devices hear `$port online`,
are told the connection is back (they read their state again), and the framing's refresh
(a DMX universe) is written again. Ports are a device path or `socket://host:port`.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any

import serial

from common.tasks import cancel_and_wait
from devices.conventions.serial_base import (
    OFFLINE,
    ONLINE,
    PORT_TOPIC,
    Framing,
    status_topic,
    unit_of,
)
from devices.transports.base import Connection, Handler, TransportUnavailable
from devices.transports.serial_line import Line, open_line
from devices.transports.serial_settings import SerialSettings

__all__ = ["Poller", "SerialPort", "SerialSettings"]

log = logging.getLogger(__name__)

# Bytes kept from unsolicited or unframeable input before the oldest are dropped.
MAX_BUFFER = 64 * 1024
# Seconds from opening to the first poll (later polls: the port's poll interval).
FIRST_POLL_S = 1.0

Poller = Callable[[], Awaitable[None]]


class SerialPort(Connection):
    """The daemon's one owner of one serial port. Use as `async with SerialPort(...)`."""

    def __init__(self, name: str, settings: SerialSettings, framing: Framing) -> None:
        super().__init__(f"serial:{name}")
        self.name = name
        self.settings = settings
        self.framing = framing
        self.opens = 0  # how many times the port was opened (tests and status)
        self._exact: dict[str, list[Handler]] = {}
        self._prefixes: dict[str, list[Handler]] = {}
        self._pollers: list[Poller] = []
        self._link: asyncio.BaseTransport | None = None
        self._lock = asyncio.Lock()
        self._buffer = bytearray()
        self._waiting: asyncio.Future[bytes] | None = None
        self._misses: dict[str, int] = {}
        self._quiet_until = 0.0  # after a timeout: a late reply must not pass for the next one
        self.open_failures = 0  # attempts that found no port (tests and status)
        self._announced = False  # `$port online` was said and `offline` is still owed

    # --- registry ----------------------------------------------------------------------

    def subscribe(self, topic_filter: str, handler: Handler) -> None:
        """`unit/#` takes every reply of a unit and its $status; anything else is exact."""
        if topic_filter.endswith("/#"):
            self._prefixes.setdefault(topic_filter[:-1], []).append(handler)
        else:
            self._exact.setdefault(topic_filter, []).append(handler)

    def add_poller(self, poller: Poller) -> None:
        """Called every poll interval while the port is open (devices that never push)."""
        self._pollers.append(poller)

    # --- requests ----------------------------------------------------------------------

    async def publish(
        self, topic: str, payload: bytes | str, *, retain: bool = False, timeout: float = 5.0
    ) -> None:
        """Write one request and hand its reply to the topic's handlers.

        Raises TransportUnavailable when the port is not open within `timeout`, is lost on
        the way, or the unit does not answer within the reply timeout.
        """
        data = payload.encode() if isinstance(payload, str) else payload
        frame = self.framing.outgoing(topic, data)  # a DMX framing keeps it even if unsent
        if not self.connected.is_set():
            try:
                await asyncio.wait_for(self.connected.wait(), timeout)
            except TimeoutError:
                raise TransportUnavailable(f"serial port {self.name} is not open; "
                                           f"{topic} not sent", topic=topic) from None
        async with self._lock:
            await self._exchange(topic, frame, timeout)

    async def _exchange(self, topic: str, frame: bytes, timeout: float) -> None:
        loop = asyncio.get_running_loop()
        if loop.time() < self._quiet_until:
            await asyncio.sleep(self._quiet_until - loop.time())
        link = self._link
        if link is None or link.is_closing() or not isinstance(link, asyncio.WriteTransport):
            raise TransportUnavailable(f"serial port {self.name} was lost; {topic} not sent",
                                       topic=topic)
        self._buffer.clear()  # a late answer to an earlier request, an echo, line noise
        if not self.framing.expects_reply(topic):
            link.write(frame)
            return
        future: asyncio.Future[bytes] = loop.create_future()
        self._waiting = future
        wait = min(timeout, self.settings.reply_timeout)
        try:
            link.write(frame)
            reply = await asyncio.wait_for(future, wait)
        except TimeoutError:
            self._missed(topic)
            self._quiet_until = loop.time() + self.settings.reply_timeout
            raise TransportUnavailable(
                f"serial port {self.name}: no reply to {topic} within {wait:g} s",
                topic=topic) from None
        finally:
            self._waiting = None
        self._answered(topic)
        self._dispatch(topic, reply)

    def _received(self, data: bytes) -> None:
        self._buffer += data
        if len(self._buffer) > MAX_BUFFER:
            del self._buffer[: len(self._buffer) - MAX_BUFFER]
        future = self._waiting
        if future is None or future.done():
            return
        try:
            length = self.framing.reply_length(bytes(self._buffer))
        except Exception:  # a framing bug: hand the bytes over, the codec rejects them
            log.exception("serial port %s: framing failed on %d bytes", self.name,
                          len(self._buffer))
            length = len(self._buffer)
        if length:
            future.set_result(bytes(self._buffer[:length]))
            del self._buffer[:length]

    def _missed(self, topic: str) -> None:
        unit = unit_of(topic)
        self._misses[unit] = self._misses.get(unit, 0) + 1
        if self._misses[unit] == self.settings.silent_after:
            log.warning("serial port %s: %s stopped answering", self.name, unit)
            self._dispatch(status_topic(unit), OFFLINE)

    def _answered(self, topic: str) -> None:
        unit = unit_of(topic)
        if self._misses.pop(unit, 0) >= self.settings.silent_after:
            log.info("serial port %s: %s answers again", self.name, unit)
            self._dispatch(status_topic(unit), ONLINE)

    # --- lifecycle ---------------------------------------------------------------------

    async def _run(self) -> None:
        attempt = 0
        while not self._closing:
            try:
                link, line = await self._open()
            except (serial.SerialException, OSError, ValueError) as exc:
                self.open_failures += 1
                if attempt == 0:
                    log.warning("serial port %s: cannot open %s: %s; retrying", self.name,
                                self.settings.url, exc)
                await asyncio.sleep(self._backoff(attempt))
                attempt = min(attempt + 1, 16)
                continue
            if attempt:
                log.info("serial port %s: open again after %d attempts", self.name, attempt)
            attempt = 0
            try:
                await self._connected(link, line)
            finally:
                self._disconnected(link)
            if not self._closing:
                log.warning("serial port %s (%s) lost: %s", self.name, self.settings.url,
                            line.error or "closed")
                await asyncio.sleep(self._backoff(0))

    async def _open(self) -> tuple[asyncio.BaseTransport, Line]:
        return await open_line(self.settings, self._received, self._link_lost)

    async def _connected(self, link: asyncio.BaseTransport, line: Line) -> None:
        self._link = link
        self._buffer.clear()
        self._misses.clear()
        self.opens += 1
        self.connected.set()
        log.info("serial port %s open on %s", self.name, self.settings.url)
        self._announced = True
        self._dispatch(PORT_TOPIC, ONLINE)
        self._notify(True)
        chores = self._tasks.spawn(self._chores(), "chores")
        try:
            await line.lost.wait()
        finally:
            await cancel_and_wait(chores)

    def _disconnected(self, link: asyncio.BaseTransport) -> None:
        self._link = None
        link.close()
        self._link_lost(None)
        announced, self._announced = self._announced, False
        if announced and not self._closing:  # closed on purpose: nothing was lost
            self._dispatch(PORT_TOPIC, OFFLINE)
            self._notify(False)

    def _link_lost(self, exc: BaseException | None) -> None:
        self.connected.clear()
        future = self._waiting
        if future is not None and not future.done():
            future.set_exception(TransportUnavailable(
                f"serial port {self.name} was lost while waiting for a reply"))

    async def _chores(self) -> None:
        """Write the framing's refresh now and then, and poll the devices that never push."""
        s = self.settings
        loop = asyncio.get_running_loop()
        next_refresh = loop.time()
        # Devices read their state on connect; the first poll comes soon after, for a device
        # whose first answer changed how it is asked (a CoolMaster without `ls2`).
        next_poll = loop.time() + min(s.poll_interval, FIRST_POLL_S)
        while True:
            now = loop.time()
            if now >= next_refresh:
                next_refresh = now + s.refresh_interval
                refresh = self.framing.refresh()
                if refresh is not None:
                    async with self._lock:
                        link = self._link
                        if isinstance(link, asyncio.WriteTransport) and not link.is_closing():
                            link.write(refresh)
            if now >= next_poll:
                next_poll = now + s.poll_interval
                for poll in list(self._pollers):
                    try:
                        await poll()
                    except Exception:  # one device's trouble must not stop the others' polls
                        log.exception("serial port %s: poll failed", self.name)
            await asyncio.sleep(max(0.0, min(next_refresh, next_poll) - loop.time()))

    def _backoff(self, attempt: int) -> float:
        s = self.settings
        return float(min(s.reopen_max, s.reopen_min * 2**attempt) * random.uniform(0.5, 1.0))

    # --- dispatch ----------------------------------------------------------------------

    def _dispatch(self, topic: str, payload: bytes) -> None:
        handlers = list(self._exact.get(topic, ()))
        for prefix, hs in self._prefixes.items():
            if topic.startswith(prefix):
                handlers.extend(hs)
        self._call(handlers, topic, payload)

    def snapshot(self) -> dict[str, Any]:
        return {"name": self.name, "url": self.settings.url, "open": self.connected.is_set(),
                "opens": self.opens}
