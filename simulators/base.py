"""A simulated device: a real MQTT client that plays the device's side of a convention.

Subclasses say which topics they listen on, what they answer and what their last will is;
this base owns the connection, records what crossed the wire, and applies fault knobs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import aiomqtt

from common.tasks import TaskSet
from devices.model import Message, StateValue, prefixed, unprefixed
from simulators.errors import SimulatorCrashed

log = logging.getLogger(__name__)

# Keepalive for simulators: short, so that a broker notices a dropped simulator quickly and
# fires its last will (the broker waits 1.5 x keepalive when no packet arrives).
KEEPALIVE_S = 5
RECONNECT_DELAY_S = 0.2


@dataclass(frozen=True, slots=True)
class Received:
    """One command the simulator received, as it crossed the wire."""

    at: float  # time.monotonic()
    topic: str  # without prefix
    payload: str


@dataclass(slots=True)
class Faults:
    """Knobs that make a simulator misbehave the way real devices do."""

    ignore_commands: bool = False  # record commands but neither act nor answer
    reply_delay: float = 0.0  # seconds between a command and the answer
    wrong_state: dict[str, StateValue] = field(default_factory=dict)  # reported over the truth
    # The probability that a command is lost on the way (radio noise, a busy bridge): the
    # device never sees it. Drawn from `rng`, which a campaign seeds to replay a run.
    drop_commands: float = 0.0
    rng: random.Random = field(default_factory=random.Random)

    def dropped(self) -> bool:
        """Whether this command is lost (a draw only when the knob is on)."""
        return self.drop_commands > 0 and self.rng.random() < self.drop_commands


class SimulatedDevice(ABC):
    """Base of every simulated MQTT device."""

    def __init__(
        self,
        device_id: str,
        *,
        host: str,
        port: int,
        topic_prefix: str = "",
        client_id: str | None = None,
    ) -> None:
        self.device_id = device_id
        self.host = host
        self.port = port
        self.prefix = topic_prefix
        # The prefix is in the id so that two sites' simulators can share one broker.
        self.client_id = client_id or f"sim-{topic_prefix}{device_id}"
        self.state: dict[str, StateValue] = {}
        self.received: list[Received] = []
        self.lost = 0  # commands the drop_commands fault lost before the device saw them
        self.faults = Faults()
        self.connected = asyncio.Event()
        self._client: aiomqtt.Client | None = None
        self._online = True
        self._wake = asyncio.Event()
        # What went wrong inside the simulator itself (a bug, not a fault knob): stop()
        # raises it, so the test that used the simulator fails.
        self.crashes: list[BaseException] = []
        self._tasks = TaskSet(f"sim:{device_id}", on_crash=self._crashed, logger=log)
        self._replies = TaskSet(f"sim:{device_id}:reply", on_crash=self._crashed, logger=log)
        self._running = False

    # --- what subclasses provide -------------------------------------------------------

    @abstractmethod
    def command_topics(self) -> list[str]:
        """Topic filters (without prefix) the device listens on."""

    @abstractmethod
    def handle(self, topic: str, payload: bytes) -> list[Message]:
        """Act on one command; return the device's answers (empty for none)."""

    def will(self) -> Message | None:
        """The last will the device registers (its offline availability message)."""
        return None

    def birth(self) -> list[Message]:
        """What the device publishes right after connecting (online availability, state)."""
        return []

    # --- test and demo helpers ---------------------------------------------------------

    @property
    def answering(self) -> bool:
        """Replies to commands are still on their way (a test waits for them to leave)."""
        return len(self._replies) > 0

    def commands(self) -> list[tuple[str, str]]:
        """What was received, as (topic, payload) pairs, for assertions that read like the wire."""
        return [(r.topic, r.payload) for r in self.received]

    async def start(self) -> None:
        """Connect in the background and wait until subscribed and announced."""
        if not self._running:
            self._running = True
            self._tasks.spawn(self._run(), "connection")
        await asyncio.wait_for(self.connected.wait(), timeout=10)

    async def stop(self) -> None:
        """Disconnect cleanly (a clean disconnect does not fire the last will). Raises
        SimulatorCrashed if anything inside the simulator failed meanwhile."""
        await self._replies.stop()
        await self._tasks.stop()
        self._running = False
        if self.crashes:
            crashes, self.crashes = self.crashes, []
            raise SimulatorCrashed(self.device_id, crashes)

    def _crashed(self, task: asyncio.Task[Any], exc: BaseException) -> None:
        self.crashes.append(exc)

    async def go_offline(self) -> None:
        """Drop the connection without a DISCONNECT packet so that the broker fires the will."""
        self._online = False
        client = self._client
        if client is not None:
            # aiomqtt's paho client (pinned): no public way to "lose" the link.
            sock = client._client.socket()  # noqa: SLF001
            if isinstance(sock, socket.socket):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
        self.connected.clear()

    async def come_back(self) -> None:
        """Reconnect after go_offline(), publishing the birth messages again."""
        self._online = True
        self._wake.set()
        await asyncio.wait_for(self.connected.wait(), timeout=10)

    async def publish(self, topic: str, payload: bytes | str, *, retain: bool = False) -> None:
        """Publish anything on the device's behalf (garbage included)."""
        if self._client is None:
            raise RuntimeError(f"simulator {self.device_id} is not connected")
        data = payload.encode() if isinstance(payload, str) else payload
        await self._client.publish(prefixed(self.prefix, topic), data, qos=1, retain=retain)

    async def publish_all(self, messages: Iterable[Message]) -> None:
        for m in messages:
            await self.publish(m.topic, m.payload, retain=m.retain)

    def reported(self) -> dict[str, StateValue]:
        """The state the device reports: the truth, overridden by the wrong_state fault."""
        return {**self.state, **self.faults.wrong_state}

    # --- the connection ----------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            if not self._online:
                self._wake.clear()
                await self._wake.wait()
                continue
            will = self.will()
            try:
                async with aiomqtt.Client(
                    self.host,
                    self.port,
                    identifier=self.client_id,
                    keepalive=KEEPALIVE_S,
                    will=aiomqtt.Will(
                        prefixed(self.prefix, will.topic), will.payload, qos=1, retain=will.retain
                    )
                    if will
                    else None,
                    socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
                ) as client:
                    self._client = client
                    for topic in self.command_topics():
                        await client.subscribe(prefixed(self.prefix, topic), qos=1)
                    await self.publish_all(self.birth())
                    self.connected.set()
                    async for msg in client.messages:
                        self._on_message(str(msg.topic), _payload_bytes(msg.payload))
            except aiomqtt.MqttError as exc:
                log.debug("simulator %s lost its connection: %s", self.device_id, exc)
            finally:
                self._client = None
                self.connected.clear()
            await asyncio.sleep(RECONNECT_DELAY_S)

    def _on_message(self, wire_topic: str, payload: bytes) -> None:
        topic = unprefixed(self.prefix, wire_topic)
        if topic is None:
            return
        if self.faults.dropped():
            self.lost += 1
            return
        self.received.append(
            Received(time.monotonic(), topic, payload.decode("utf-8", errors="replace"))
        )
        if self.faults.ignore_commands:
            return
        try:
            replies = self.handle(topic, payload)
        except Exception as exc:  # it lives on, like the device would, but the test fails
            log.exception("simulator %s failed on %s", self.device_id, topic)
            self.crashes.append(exc)
            return
        if replies:
            self._replies.spawn(self._reply(replies), "reply")

    async def _reply(self, replies: list[Message]) -> None:
        if self.faults.reply_delay:
            await asyncio.sleep(self.faults.reply_delay)
        with contextlib.suppress(aiomqtt.MqttError, RuntimeError):
            await self.publish_all(replies)


def _payload_bytes(payload: Any) -> bytes:
    if isinstance(payload, bytes | bytearray):
        return bytes(payload)
    if payload is None:
        return b""
    return str(payload).encode()
