"""A device at run time: last reported state, availability, and confirmed commands.

A command counts as done only when the device reports the wanted state after the command
was sent. Until then it is re-sent with backoff, and after the last attempt it is reported
as failed. A device that cannot report (assumed state) is trusted and never waited on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Protocol

from common.tasks import TaskSet
from devices.capabilities import attributes_of
from devices.conventions.base import Codec
from devices.errors import DecodeError, UnsupportedCommand
from devices.model import ANNOUNCED, CommandResult, Kind, Message, State, StateValue, matches
from devices.transports.base import Transport, TransportUnavailable

log = logging.getLogger(__name__)

# A device that floods garbage is logged once per topic per this many seconds.
GARBAGE_LOG_INTERVAL_S = 60.0
# How much of a garbage payload goes into the log: enough to recognise, never a megabyte.
GARBAGE_EXCERPT_BYTES = 120


class Policy(Protocol):
    """How hard to try: the site's `commands:` block or a device's override."""

    @property
    def confirm_timeout(self) -> float: ...
    @property
    def retries(self) -> int: ...
    @property
    def backoff(self) -> float: ...
    @property
    def max_backoff(self) -> float: ...


@dataclass(frozen=True, slots=True)
class DeviceEvent:
    """Something worth logging happened on a device."""

    kind: str  # state, availability, action, command, retry, confirmed, failed, garbage
    device_id: str
    detail: dict[str, Any] = field(default_factory=dict)


Listener = Callable[[DeviceEvent], None]


@dataclass(slots=True)
class _Waiter:
    wanted: State
    after_seq: int
    future: asyncio.Future[bool]  # True: confirmed; False: the device reported a failure
    fails: State | None = None  # a report that says the command failed (no need to wait on)


class Device:
    """One configured device, bound to its codec and its transport (MQTT or a serial port).

    The machinery every kind shares: the last reported state, availability, and commands
    confirmed by a fresh report. What a kind can do on top is its capability
    (devices/capabilities.py), implemented in devices/kinds.py.
    """

    def __init__(
        self,
        device_id: str,
        *,
        kind: Kind,
        codec: Codec[Any],
        transport: Transport,
        policy: Policy,
        name: str | None = None,
        optimistic: bool = False,
        listener: Listener | None = None,
    ) -> None:
        self.id = device_id
        self.kind = kind
        self.name = name or device_id
        self.codec = codec
        self.transport = transport
        self.policy = policy
        self.assumed = optimistic or not codec.can_report
        self.state: dict[str, StateValue] = {}
        self.available: bool | None = None  # None: not heard of yet
        self.last_report: float | None = None  # time.time() of the last state report
        self.failure: str | None = None  # the last command's failure, cleared on success
        self.failed_since: float | None = None
        self._listeners: list[Listener] = [listener] if listener else []
        self._seq = 0  # counts state reports, so a confirmation is always a fresh one
        self._waiters: list[_Waiter] = []
        self._lock = asyncio.Lock()
        self._garbage_logged: dict[str, float] = {}
        self._tasks = TaskSet(f"device:{device_id}", logger=log)
        self._reported = asyncio.Event()
        self._heard = asyncio.Event()  # its availability is known (either way)

    def attach(self) -> None:
        """Subscribe to the device's topics (replayed by the transport on reconnect)."""
        for topic in self.codec.subscriptions():
            self.transport.subscribe(topic, self.handle)
        self.transport.add_connection_listener(self._on_connection)

    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    @property
    def busy(self) -> bool:
        """A command is in flight (its reports may still be on their way)."""
        return self._lock.locked()

    @property
    def has_reported(self) -> bool:
        """Its first state report has come (wait_reported would return at once)."""
        return self._reported.is_set() or self.assumed or not self.codec.query()

    async def wait_reported(self, timeout: float) -> bool:
        """Wait for the device's first state report (after start-up). False on timeout, and
        at once for a device that cannot report."""
        if self.assumed or not self.codec.query():
            return self.last_report is not None
        try:
            await asyncio.wait_for(self._reported.wait(), timeout)
        except TimeoutError:
            return False
        return True

    # --- incoming ----------------------------------------------------------------------

    def handle(self, topic: str, payload: bytes, retained: bool = False) -> None:
        """One message on the device's topics. A `retained` one (replayed by the broker when
        vipctl subscribed) is state only: an action in it is an old press, never a new one
        (Zigbee2MQTT's per-device `retain: true` keeps a button's last action on the broker)."""
        try:
            update = self.codec.decode(topic, payload)
        except DecodeError as exc:
            self._garbage(topic, exc.reason, payload)
            return
        except Exception as exc:  # a codec bug must not end the connection either
            # A bug in vipctl, not garbage from the device: its traceback goes to the log.
            log.exception("%s: the %s codec failed on %s", self.id, self.codec.convention, topic)
            self._garbage(topic, f"decoder error {type(exc).__name__}: {exc}", payload)
            return
        if update is None:
            return
        if update.available is not None and update.available != self.available:
            was = self.available
            self.available = update.available
            self._heard.set()
            self._emit("availability", available=update.available)
            if update.available and was is False:
                self.spawn(self.refresh(), "refresh")
        if update.state:
            changed = {k: v for k, v in update.state.items() if self.state.get(k) != v}
            self.state.update(update.state)
            self._seq += 1
            self.last_report = time.time()
            self._reported.set()
            if self.available is None:
                self.available = True
                self._heard.set()
            if changed:
                self._emit("state", changed=changed)
            self._check_waiters()
        if update.event and retained:
            log.info("%s: ignored a retained %r on %s (an old action, not a press)",
                     self.id, update.event, topic)
        elif update.event:
            self._emit("action", action=update.event)

    def _garbage(self, topic: str, reason: str, payload: bytes) -> None:
        now = time.monotonic()
        last = self._garbage_logged.get(topic)
        if last is not None and now - last < GARBAGE_LOG_INTERVAL_S:
            return
        self._garbage_logged[topic] = now
        excerpt = payload[:GARBAGE_EXCERPT_BYTES].decode("utf-8", errors="replace")
        log.warning("%s: ignored garbage on %s (%d bytes): %s: %r",
                    self.id, topic, len(payload), reason, excerpt)
        self._emit("garbage", topic=topic, reason=reason, size=len(payload))

    def _on_connection(self, up: bool) -> None:
        if up:
            self.spawn(self.refresh(), "refresh")

    # --- outgoing ----------------------------------------------------------------------

    async def refresh(self) -> None:
        """Ask the device to report its whole state again (after a reconnect or outage)."""
        for message in self.codec.query():
            try:
                await self._send(message)
            except TransportUnavailable as exc:
                log.info("%s: state query not sent: %s", self.id, exc)
                return

    async def wait_heard(self, timeout: float) -> bool | None:
        """Its availability, waiting up to `timeout` for the first word of it after start-up
        (the broker's retained message, a first report); None if none came."""
        if self.available is None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._heard.wait(), timeout)
        return self.available

    @property
    def can_query(self) -> bool:
        """It answers a state query (a device that cannot be asked is only listened to)."""
        return not self.assumed and bool(self.codec.query())

    async def probe(self, timeout: float) -> bool:
        """Ask the device for its state, changing nothing, and wait for a fresh report: True
        when one came within `timeout`. A device that cannot be asked: whether it ever
        reported."""
        queries = self.codec.query()
        if not self.can_query:
            return self.last_report is not None
        waiter = self._add_waiter({})  # any report after this one will do
        try:
            for message in queries:
                await self._send(message)
            return await asyncio.wait_for(asyncio.shield(waiter.future), timeout)
        except (TimeoutError, TransportUnavailable):
            return False
        finally:
            self._drop_waiter(waiter)

    def check(self, desired: State) -> None:
        """Raise UnsupportedCommand if this device cannot be set to `desired`."""
        allowed = attributes_of(self.kind)
        for attribute in desired:
            if attribute not in allowed:
                raise UnsupportedCommand(self.id, attribute, f"a {self.kind} has no {attribute}")

    async def command(self, desired: State) -> CommandResult:
        """Bring the device to `desired` and wait for it to say so."""
        self.check(desired)
        messages = self.codec.encode(desired)
        return await self._run_confirmed(
            dict(desired), messages, self.codec.confirmation(desired),
            self.policy.confirm_timeout, what="command",
        )

    async def _run_confirmed(
        self,
        desired: dict[str, Any],
        messages: list[Message],
        wanted: State,
        timeout: float,
        *,
        what: str,
        fails: State | None = None,
    ) -> CommandResult:
        async with self._lock:
            start = time.monotonic()
            attempts = 0
            reason = ""
            # Why, as a code the staff's words are chosen by: unreachable (no transport),
            # refused (the device reported a failure), no_answer (no confirming report).
            problem = "no_answer"
            delay = self.policy.backoff
            for attempt in range(1 + self.policy.retries):
                if attempt:
                    self._emit("retry", desired=desired, attempt=attempt + 1, reason=reason)
                    await asyncio.sleep(delay * random.uniform(0.8, 1.2))
                    delay = min(self.policy.max_backoff, delay * 2)
                attempts += 1
                waiter = self._add_waiter(wanted, fails) if not self.assumed else None
                self._emit("command", desired=desired, attempt=attempts, what=what)
                try:
                    for message in messages:
                        await self._send(message)
                except TransportUnavailable as exc:
                    reason, problem = str(exc), "unreachable"
                    if waiter:
                        self._drop_waiter(waiter)
                    continue
                if waiter is None:
                    self.state.update({k: v for k, v in wanted.items() if k != ANNOUNCED})
                    return self._succeeded(desired, attempts, start, assumed=True)
                try:
                    if await asyncio.wait_for(asyncio.shield(waiter.future), timeout):
                        return self._succeeded(desired, attempts, start)
                    reason = f"the device reported {what} failed: {self.state.get('error', '')}"
                    problem = "refused"
                except TimeoutError:
                    reason, problem = f"no matching report within {timeout:g} s", "no_answer"
                finally:
                    self._drop_waiter(waiter)
            elapsed = time.monotonic() - start
            self.failure = f"{what} {desired} failed after {attempts} attempts: {reason}"
            self.failed_since = self.failed_since or time.time()
            self._emit("failed", desired=desired, attempts=attempts, reason=reason,
                       problem=problem)
            log.warning("%s: %s", self.id, self.failure)
            return CommandResult(self.id, desired, False, attempts, elapsed, reason=reason)

    def _succeeded(
        self, desired: dict[str, Any], attempts: int, start: float, *, assumed: bool = False
    ) -> CommandResult:
        elapsed = time.monotonic() - start
        self.failure = None
        self.failed_since = None
        self._emit("confirmed", desired=desired, attempts=attempts,
                   elapsed_ms=round(elapsed * 1000, 2), assumed=assumed)
        return CommandResult(self.id, desired, True, attempts, elapsed, assumed=assumed)

    async def _send(self, message: Message) -> None:
        await self.transport.publish(
            message.topic, message.payload, retain=message.retain,
            timeout=self.policy.confirm_timeout,
        )

    # --- confirmation bookkeeping ------------------------------------------------------

    def _add_waiter(self, wanted: State, fails: State | None = None) -> _Waiter:
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        waiter = _Waiter(wanted, self._seq, future, fails)
        self._waiters.append(waiter)
        return waiter

    def _drop_waiter(self, waiter: _Waiter) -> None:
        if waiter in self._waiters:
            self._waiters.remove(waiter)

    def _check_waiters(self) -> None:
        for waiter in self._waiters:
            if (
                not waiter.future.done()
                and self._seq > waiter.after_seq
                and matches(self.state, waiter.wanted)
            ):
                waiter.future.set_result(True)
            elif (
                not waiter.future.done()
                and self._seq > waiter.after_seq
                and waiter.fails is not None
                and matches(self.state, waiter.fails)
            ):
                waiter.future.set_result(False)

    # --- plumbing ----------------------------------------------------------------------

    def _emit(self, kind: str, **detail: Any) -> None:
        event = DeviceEvent(kind, self.id, detail)
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # one listener's bug must not silence the others
                log.exception("%s: listener failed on %s", self.id, kind)

    def spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        """Run a background job tied to this device, keeping a strong reference."""
        self._tasks.spawn(coro, name)

    async def close(self) -> None:
        """Stop the device's background jobs (a state query in flight)."""
        await self._tasks.stop()

    def snapshot(self) -> dict[str, Any]:
        """What the API and status commands show."""
        return {
            "id": self.id,
            "name": self.name,
            "kind": self.kind,
            "state": dict(self.state),
            "available": self.available,
            "assumed": self.assumed,
            "last_report": self.last_report,
            "failure": self.failure,
            "failed_since": self.failed_since,
        }
