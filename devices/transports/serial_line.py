"""Opening one serial line under asyncio, for devices/transports/serial.py.

A device path goes through pyserial-asyncio-fast's SerialTransport; `socket://host:port`
through an asyncio TCP connection (pyserial-asyncio-fast's own choice for it). The port
itself knows nothing of either: it gets bytes and one call when the line is lost.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial
from typing import Any

import serial
import serial_asyncio_fast

from devices.transports.serial_settings import SerialSettings


class QuietTransport(serial_asyncio_fast.SerialTransport):
    """A write into a port that just vanished (EIO) is the port lost, not an error with a
    traceback: the port logs it as it logs a loss seen while reading."""

    def _fatal_error(self, exc: BaseException, message: str = "") -> None:
        if not isinstance(exc, serial.SerialException | OSError):
            super()._fatal_error(exc, message)
            return
        self._abort(exc)


class Line(asyncio.Protocol):
    def __init__(self, on_data: Callable[[bytes], None],
                 on_lost: Callable[[BaseException | None], None]) -> None:
        self.on_data = on_data
        self.on_lost = on_lost
        self.lost = asyncio.Event()
        self.error: BaseException | None = None

    def data_received(self, data: bytes) -> None:
        self.on_data(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.error = exc
        self.lost.set()
        self.on_lost(exc)


async def open_line(settings: SerialSettings, on_data: Callable[[bytes], None],
                    on_lost: Callable[[BaseException | None], None],
                    ) -> tuple[asyncio.BaseTransport, Line]:
    """Open the port (exclusively: a second owner is refused). Raises SerialException or
    OSError when it is not there."""
    s = settings
    line = Line(on_data, on_lost)
    loop = asyncio.get_running_loop()
    options: dict[str, Any] = {"baudrate": s.baudrate, "bytesize": s.bytesize,
                               "parity": s.parity, "stopbits": s.stopbits, "exclusive": True}
    if s.url.startswith("socket://"):
        link, _ = await serial_asyncio_fast.create_serial_connection(
            loop, lambda: line, s.url, **options)
        return link, line
    port = await loop.run_in_executor(None, partial(serial.serial_for_url, s.url, **options))
    return QuietTransport(loop, line, port), line
