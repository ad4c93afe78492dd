"""A TCP proxy between the daemon and the broker that can go half-open.

Blackholed, it stops forwarding in both directions without closing anything: bytes wait in
the kernel's buffers, a close is not passed on, as when a link dies somewhere between two
routers (a NAT that forgot the flow, a cable pulled on the far side of a switch). Neither
end hears anything; only a keepalive finds it. New connections are accepted and held the
same way. When the link comes back, whatever is still open flows again, as TCP's
retransmissions would deliver it.

The proxy notes when each connection from the daemon arrived: a new one during a blackhole
is the daemon having given up on the old link (its keepalive found it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from common.tasks import TaskSet

log = logging.getLogger(__name__)

CHUNK = 65536


class BlackholeProxy:
    """Listens on a free loopback port and forwards to (host, port). `async with`."""

    def __init__(self, host: str, port: int) -> None:
        self.upstream = (host, port)
        self.host = "127.0.0.1"
        self.port = 0
        self.accepted: list[float] = []  # time.monotonic() of each connection from the daemon
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._server: asyncio.Server | None = None
        self._pumps = TaskSet("proxy", logger=log)
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    @property
    def blackholed(self) -> bool:
        return not self._flowing.is_set()

    def blackhole(self) -> None:
        self._flowing.clear()

    def restore(self) -> None:
        self._flowing.set()

    async def __aenter__(self) -> BlackholeProxy:
        self._server = await asyncio.start_server(self._accept, self.host, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._flowing.set()
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.close()
        await self._pumps.stop()

    async def _accept(self, down_r: asyncio.StreamReader, down_w: asyncio.StreamWriter) -> None:
        self.accepted.append(time.monotonic())
        self._writers.add(down_w)
        try:
            up_r, up_w = await asyncio.open_connection(*self.upstream)
        except OSError:  # the broker is down: the daemon sees its connection refused, late
            down_w.close()
            self._writers.discard(down_w)
            return
        self._writers.add(up_w)
        self._pumps.spawn(self._pump(down_r, up_w), "up")
        self._pumps.spawn(self._pump(up_r, down_w), "down")

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                await self._flowing.wait()  # blackholed: read nothing, so nothing moves
                data = await reader.read(CHUNK)
                await self._flowing.wait()  # what was read meanwhile waits for the link
                if not data:
                    break
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()
            self._writers.discard(writer)
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()
