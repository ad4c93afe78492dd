"""The device side of a serial line, for simulated serial devices.

A link is either a real pseudo-terminal, reached by vipctl through a stable symlink (as
/dev/serial/by-id/... names a USB adapter), or a TCP server for `socket://host:port` (a
serial-over-TCP box). Both can vanish (the symlink and pty go, or the server and its
connection close) and come back, as a pulled USB adapter or a rebooted box does.

SerialSimulator is the base of every simulated serial device: it owns a link, records what
it received, and applies the fault knobs to its replies.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import time
import tty
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common.tasks import TaskSet
from devices.model import StateValue
from simulators.base import Received
from simulators.errors import SimulatorCrashed

log = logging.getLogger(__name__)

# Garbled replies keep their last bytes (a CoolMaster prompt, a Modbus CRC) so that the
# line still frames them and the controller has to read, and reject, what is inside.
GARBLE_KEEP_TAIL = 3
GARBLE_MASK = 0x5A


def garble(reply: bytes) -> bytes:
    """The reply with its middle bytes flipped (its first 3 kept when it is long)."""
    head = 3 if len(reply) > 9 else 0
    tail = max(head, len(reply) - GARBLE_KEEP_TAIL)
    return reply[:head] + bytes(b ^ GARBLE_MASK for b in reply[head:tail]) + reply[tail:]


class Link(ABC):
    """One end of a serial line that can be there or not."""

    def __init__(self) -> None:
        self.on_data: Callable[[bytes], None] = lambda data: None
        # A client has just connected (sockets only: a serial line has no connections).
        self.on_connect: Callable[[], None] = lambda: None

    @property
    @abstractmethod
    def url(self) -> str:
        """What to write in the site file's serial_ports for vipctl to reach this line."""

    @property
    @abstractmethod
    def is_open(self) -> bool: ...

    @abstractmethod
    async def open(self) -> None: ...

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    def write(self, data: bytes) -> None: ...


class PtyLink(Link):
    """A pseudo-terminal whose slave vipctl opens through the symlink `path`."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self._master: int | None = None
        self._slave: int | None = None

    @property
    def url(self) -> str:
        return str(self.path)

    @property
    def is_open(self) -> bool:
        return self._master is not None

    async def open(self) -> None:
        if self._master is not None:
            return
        master, slave = os.openpty()
        tty.setraw(slave)  # no echo, no line editing: bytes pass as they are
        os.set_blocking(master, False)
        self._master, self._slave = master, slave  # the slave stays open: no EIO on master
        link = self.path.with_name(self.path.name + ".new")
        with contextlib.suppress(FileNotFoundError):
            link.unlink()
        link.symlink_to(os.ttyname(slave))
        link.replace(self.path)
        asyncio.get_running_loop().add_reader(master, self._readable)

    async def close(self) -> None:
        """The adapter is pulled: the path disappears and vipctl's reads fail."""
        master, slave = self._master, self._slave
        self._master = self._slave = None
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        if master is not None:
            asyncio.get_running_loop().remove_reader(master)
            os.close(master)
        if slave is not None:
            os.close(slave)

    def _readable(self) -> None:
        if self._master is None:
            return
        try:
            data = os.read(self._master, 4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:  # EIO: nothing on the other side right now
            return
        if data:
            self.on_data(data)

    def write(self, data: bytes) -> None:
        if self._master is None:
            return
        with contextlib.suppress(BlockingIOError, OSError):  # a full pty buffer drops bytes
            os.write(self._master, data)


class SocketLink(Link):
    """A TCP server, one client at a time, as serial-over-TCP boxes (socket://) are."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__()
        self.host = host
        self.port = port
        self._server: asyncio.Server | None = None
        self._client: asyncio.StreamWriter | None = None
        self._readers: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        return f"socket://{self.host}:{self.port}"

    @property
    def is_open(self) -> bool:
        return self._server is not None

    async def open(self) -> None:
        if self._server is not None:
            return
        self._server = await asyncio.start_server(self._accept, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]  # the same port when it returns

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._client is not None:  # a new connection replaces the old one
            self._client.close()
        self._client = writer
        self.on_connect()
        task = asyncio.current_task()
        if task is not None:
            self._readers.add(task)
        try:
            while data := await reader.read(4096):
                self.on_data(data)
        except (ConnectionError, OSError):
            pass
        finally:
            if self._client is writer:
                self._client = None
            writer.close()
            if task is not None:
                self._readers.discard(task)

    async def close(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        if self._client is not None:
            self._client.close()  # its reader sees the end of the stream and returns
            self._client = None
        if self._readers:
            await asyncio.wait(list(self._readers), timeout=2)
        if server is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(server.wait_closed(), 2)

    def write(self, data: bytes) -> None:
        if self._client is not None and not self._client.is_closing():
            self._client.write(data)


@dataclass(slots=True)
class SerialFaults:
    """Knobs that make a serial device misbehave the way real ones do."""

    ignore_commands: bool = False  # record requests but neither act nor answer
    reply_delay: float = 0.0  # seconds between a request and its reply
    garble: bool = False  # replies arrive with their middle bytes corrupted
    wrong_state: dict[str, StateValue] = field(default_factory=dict)  # reported over the truth
    # The probability that a request is lost on the line (noise on a long RS-485 run): the
    # device never reads it. Drawn from `rng`, which a campaign seeds to replay a run.
    drop_commands: float = 0.0
    rng: random.Random = field(default_factory=random.Random)

    def dropped(self) -> bool:
        """Whether these bytes are lost (a draw only when the knob is on)."""
        return self.drop_commands > 0 and self.rng.random() < self.drop_commands


class SerialSimulator(ABC):
    """Base of every simulated serial device: a link, a record, fault knobs."""

    def __init__(self, name: str, link: Link) -> None:
        self.name = name
        self.link = link
        self.faults = SerialFaults()
        self.received: list[Received] = []
        self.lost = 0  # writes the drop_commands fault lost before the device read them
        # What went wrong inside the simulator (a bug): stop() raises it, failing the test.
        self.crashes: list[BaseException] = []
        self._pending = TaskSet(f"sim:{name}", on_crash=self._crashed, logger=log)
        link.on_data = self._on_data

    @property
    def url(self) -> str:
        return self.link.url

    def commands(self) -> list[tuple[str, str]]:
        """What was received, as (unit, request) pairs, for assertions that read like the wire."""
        return [(r.topic, r.payload) for r in self.received]

    def record(self, unit: str, request: str) -> None:
        self.received.append(Received(time.monotonic(), unit, request))

    async def start(self) -> None:
        await self.link.open()

    async def stop(self) -> None:
        """Close the port. Raises SimulatorCrashed if anything inside failed meanwhile."""
        await self._pending.stop()
        await self.link.close()
        if self.crashes:
            crashes, self.crashes = self.crashes, []
            raise SimulatorCrashed(self.name, crashes)

    def _crashed(self, task: asyncio.Task[Any], exc: BaseException) -> None:
        self.crashes.append(exc)

    async def vanish(self) -> None:
        """The port disappears (a USB adapter pulled, a serial server rebooting)."""
        await self.link.close()
        self.on_vanish()

    async def come_back(self) -> None:
        await self.link.open()

    def on_vanish(self) -> None:  # noqa: B027 - most devices lose nothing
        """What the device loses with its port (a DMX widget powered by USB goes dark)."""

    def send_garbage(self, data: bytes) -> None:
        """Unsolicited bytes on the line: noise, a half frame, a reboot banner."""
        self.link.write(data)

    @abstractmethod
    def feed(self, data: bytes) -> None:
        """Bytes from vipctl; answer with `answer()`."""

    def _on_data(self, data: bytes) -> None:
        if self.faults.dropped():
            self.lost += 1
            return
        try:
            self.feed(data)
        except Exception as exc:  # it lives on, like the device would, but the test fails
            log.exception("simulator %s failed on %d bytes", self.name, len(data))
            self.crashes.append(exc)

    def answer(self, reply: bytes) -> None:
        """Send a reply, late or garbled if the faults say so."""
        if self.faults.garble:
            reply = garble(reply)
        if not self.faults.reply_delay:
            self.link.write(reply)
            return
        self._pending.spawn(self._late(reply, self.faults.reply_delay), "late reply")

    async def _late(self, reply: bytes, delay: float) -> None:
        await asyncio.sleep(delay)
        self.link.write(reply)
