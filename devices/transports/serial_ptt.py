"""Push-to-talk on a serial control line (RTS or DTR): the PushToTalk of devices/ptt.py.

Many radio interfaces key the transmitter with RTS or DTR. pyserial raises both lines when it
opens a port, which would key the radio at start-up: the lines are set low on the closed
port object first, so they never go up. While keyed, a watchdog on its own thread unkeys
after `max_transmit` seconds even if the event loop is stuck (a radio keyed for ever blocks
the channel for the whole site). Every way out of `keyed()` unkeys: the end of the block, an
exception, a cancellation, `close()` at shutdown, and the interpreter's exit.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import logging
import threading
import time
from collections.abc import AsyncIterator
from typing import Literal

import serial

from devices.conventions.ptt import SerialPttLine
from devices.errors import DeviceError

log = logging.getLogger(__name__)

Line = Literal["rts", "dtr"]


class PttUnavailable(DeviceError):
    """The radio cannot be keyed now: the port is missing or went away."""


class PttLineUnsupported(PttUnavailable):
    """The port opens but cannot drive the line (a pseudo-terminal has no RTS): a setup error."""


class SerialPushToTalk:
    """Keys a radio with one control line of a serial port. `async with ptt.keyed(): ...`"""

    def __init__(
        self,
        *,
        url: str,
        line: Line = "rts",
        lead_in: float = 0.3,
        tail: float = 0.5,
        max_transmit: float = 60.0,
    ) -> None:
        """
        url: the port (a device path; loop:// in tests). line: "rts" or "dtr".
        lead_in / tail: seconds keyed before and after the block. max_transmit: the watchdog.
        """
        self.url = url
        self.line: Line = line
        self.lead_in = lead_in
        self.tail = tail
        self.max_transmit = max_transmit
        self.serial: serial.SerialBase | None = None
        self.watchdog_trips = 0  # how often the watchdog had to unkey
        self._keyed = False
        self._keyed_at = 0.0
        self._watchdog: threading.Timer | None = None
        self._line_lock = threading.Lock()  # the watchdog thread drives the line too
        self._lock = asyncio.Lock()  # one transmission at a time

    @classmethod
    def from_options(cls, options: SerialPttLine, *, lead_in: float, tail: float,
                     max_transmit: float) -> SerialPushToTalk:
        return cls(url=options.url, line=options.line, lead_in=lead_in, tail=tail,
                   max_transmit=max_transmit)

    @property
    def is_keyed(self) -> bool:
        return self._keyed

    # --- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        """Open the port with the lines low. Logs (and tries again at the first keying) when
        the port is missing; raises PttUnavailable when it cannot drive the line at all."""
        try:
            self._ensure_open()
        except PttLineUnsupported:
            raise
        except PttUnavailable as exc:
            log.warning("push-to-talk: %s; will try again when keying", exc)

    async def close(self) -> None:
        """Unkey and close the port. Idempotent; safe while a `keyed()` block is running."""
        self._unkey("shutdown")
        with self._line_lock:
            port, self.serial = self.serial, None
            if port is not None:
                with contextlib.suppress(serial.SerialException, OSError):
                    port.close()
        atexit.unregister(self._at_exit)

    def _ensure_open(self) -> serial.SerialBase:
        if self.serial is not None and self.serial.is_open:
            return self.serial
        try:
            port = serial.serial_for_url(self.url, do_not_open=True)
            port.rts = False  # stored now, applied by open(): the lines never go up
            port.dtr = False
            port.open()
        except (serial.SerialException, OSError, ValueError) as exc:
            raise PttUnavailable(f"cannot open {self.url}: {exc}") from None
        try:
            self._drive(port, False)
        except (serial.SerialException, OSError) as exc:  # e.g. a pseudo-terminal: ENOTTY
            port.close()
            raise PttLineUnsupported(
                f"{self.url} cannot drive {self.line.upper()}: {exc}") from None
        self.serial = port
        atexit.register(self._at_exit)
        return port

    # --- keying ------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def keyed(self) -> AsyncIterator[None]:
        """Keyed for the block: lead-in before it, tail after it, unkeyed on every exit."""
        async with self._lock:
            self._key()
            try:
                await asyncio.sleep(self.lead_in)
                yield
                await asyncio.sleep(self.tail)
            finally:
                self._unkey("end of transmission")

    def _key(self) -> None:
        with self._line_lock:
            port = self._ensure_open()
            try:
                self._drive(port, True)
            except (serial.SerialException, OSError) as exc:
                self._drop(port)
                raise PttUnavailable(f"cannot key {self.url}: {exc}") from None
            self._keyed = True
            self._keyed_at = time.monotonic()
            self._watchdog = threading.Timer(self.max_transmit, self._watchdog_fired)
            self._watchdog.daemon = True
            self._watchdog.start()

    def _unkey(self, why: str) -> None:
        with self._line_lock:
            if self._watchdog is not None:
                self._watchdog.cancel()
                self._watchdog = None
            if not self._keyed:
                return
            self._keyed = False
            port = self.serial
            held = time.monotonic() - self._keyed_at
            if port is None:
                return
            try:
                self._drive(port, False)
            except (serial.SerialException, OSError) as exc:  # the port went away: so did the line
                log.warning("push-to-talk: unkeying %s failed (%s); closing it", self.url, exc)
                self._drop(port)
                return
            log.debug("push-to-talk unkeyed after %.2f s (%s)", held, why)

    def _watchdog_fired(self) -> None:
        if not self._keyed:
            return
        log.error("push-to-talk keyed for %g s: the watchdog unkeys the radio",
                  self.max_transmit)
        self.watchdog_trips += 1
        self._unkey("watchdog")

    def _at_exit(self) -> None:
        self._unkey("exit")

    def _drive(self, port: serial.SerialBase, on: bool) -> None:
        if self.line == "rts":
            port.rts = on
        else:
            port.dtr = on

    def _drop(self, port: serial.SerialBase) -> None:
        self._keyed = False
        with contextlib.suppress(serial.SerialException, OSError):
            port.close()
        if self.serial is port:
            self.serial = None
