"""vipctl-intercom: vipctl's own JSON convention for intercom/PA gateways.

The specification is docs/conventions-vipctl.md; this module is both sides of it. The
controller uses VipctlIntercomCodec; a gateway (and simulators/vipctl_intercom.py) uses
decode_say, encode_state and encode_event, and devices.announcements.AnnouncementQueue, so
that every gateway orders, de-duplicates and reports announcements the same way.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import ClassVar, Literal

from devices.announcements import MAX_ID_CHARS, AnnouncementQueue, check_announcement
from devices.conventions.base import (
    ConventionOptions,
    IntercomCodec,
    TopicPart,
    WireAddress,
    is_finite_number,
)
from devices.conventions.vipctl_media import (
    AVAILABILITY,
    GET,
    KEPT_PAYLOAD_BYTES,
    STATE,
    decode_availability,
    dump_json,
    load_json_object,
)
from devices.errors import DecodeError, UnsupportedCommand
from devices.model import (
    ANNOUNCE_FAILED,
    ANNOUNCED,
    Announcement,
    Kind,
    Message,
    State,
    StateValue,
    Update,
)

log = logging.getLogger(__name__)

# The gateway's side: how it makes the sound ("" when played, else why not), and how it
# publishes its events and state.
Speak = Callable[[Announcement], Awaitable[str]]
Send = Callable[[list[Message]], Awaitable[None]]

SAY = "say"  # topic leaf: an announcement, JSON, never retained
EVENT = "event"  # topic leaf: one announcement's progress, JSON, not retained

# State fields (besides ANNOUNCED) and the event names, as the specification spells them.
STATUS = "status"  # "idle" | "speaking"
SPEAKING = "speaking"  # id being spoken, "" when idle
QUEUE = "queue"  # announcements waiting, not counting the one being spoken
QUEUED = "queued"  # (from events) id of the announcement last queued
FAILED = ANNOUNCE_FAILED  # (from events) id of the announcement that last failed or was refused
ERROR = "error"  # (from events) why it failed
STATUSES = ("idle", "speaking")
EVENTS = ("queued", "started", "done", "failed", "refused")


class VipctlIntercomOptions(ConventionOptions):
    convention: Literal["vipctl-intercom"]
    topic: TopicPart  # e.g. vipctl/intercom/staff

    def wire_address(self) -> WireAddress:
        return WireAddress("topic", self.topic, (self.convention, self.topic))


class RefusedSay(DecodeError):
    """A `say` the gateway will not queue; `id` is its id when that much was readable."""

    def __init__(self, topic: str, reason: str, payload: bytes, id: str | None) -> None:
        super().__init__(topic, reason, payload)
        self.id = id


@dataclass(frozen=True, slots=True)
class IntercomEvent:
    """One `<t>/event` message."""

    id: str | None  # None only for a refused say whose id was unreadable
    event: str  # one of EVENTS
    at: float | None = None  # gateway's wall clock, seconds since the epoch
    error: str | None = None  # for failed and refused
    duplicate: bool = False  # a repeat of an id the gateway already knew


def encode_say(base: str, a: Announcement) -> Message:
    """The `<t>/say` message (ValueError for an announcement that breaks the schema)."""
    check_announcement(a)
    body = {"id": a.id, "text": a.text, "priority": a.priority, "lang": a.lang}
    return Message(f"{base}/{SAY}", dump_json(body))


def decode_say(topic: str, payload: bytes) -> Announcement:
    """A `<t>/say` as the gateway reads it; RefusedSay (a DecodeError) if it must be refused."""
    kept = payload[:KEPT_PAYLOAD_BYTES]
    try:
        data = load_json_object(topic, payload)
    except DecodeError as exc:
        raise RefusedSay(topic, exc.reason, kept, None) from None
    raw_id = data.get("id")
    readable_id = raw_id if isinstance(raw_id, str) and 0 < len(raw_id) <= MAX_ID_CHARS else None
    unknown = sorted(set(data) - {"id", "text", "priority", "lang"})
    text, priority, lang = data.get("text"), data.get("priority", 5), data.get("lang", "zh")
    try:
        if unknown:
            raise ValueError(f"unknown fields {', '.join(unknown)}")
        if not isinstance(raw_id, str) or not isinstance(text, str):
            raise ValueError("id and text must be strings")
        if not isinstance(priority, int) or not isinstance(lang, str):
            raise ValueError("priority must be a whole number 0-9 and lang a string")
        a = Announcement(id=raw_id, text=text, priority=priority, lang=lang)
        check_announcement(a)
    except ValueError as exc:
        raise RefusedSay(topic, str(exc), kept, readable_id) from None
    return a


def encode_state(base: str, state: Mapping[str, StateValue]) -> Message:
    """The retained `<t>/state`; "" in `state` (no id) goes on the wire as null."""
    body = {
        STATUS: state.get(STATUS, "idle"),
        SPEAKING: state.get(SPEAKING) or None,
        QUEUE: state.get(QUEUE, 0),
        ANNOUNCED: state.get(ANNOUNCED) or None,
    }
    return Message(f"{base}/{STATE}", dump_json(body), retain=True)


def decode_state(topic: str, payload: bytes) -> dict[str, StateValue]:
    """A `<t>/state`; null ids become "". Unknown fields are ignored."""
    data = load_json_object(topic, payload)
    state: dict[str, StateValue] = {}
    try:
        if STATUS in data:
            if data[STATUS] not in STATUSES:
                raise ValueError(f"status must be idle or speaking, not {data[STATUS]!r}")
            state[STATUS] = str(data[STATUS])
        for name in (SPEAKING, ANNOUNCED):
            if name in data:
                state[name] = _optional_str(name, data[name])
        if QUEUE in data:
            n = data[QUEUE]
            if isinstance(n, bool) or not isinstance(n, int) or n < 0:
                raise ValueError(f"queue must be a count, not {n!r}")
            state[QUEUE] = n
    except ValueError as exc:
        raise DecodeError(topic, str(exc), payload[:KEPT_PAYLOAD_BYTES]) from None
    return state


def encode_event(base: str, ev: IntercomEvent) -> Message:
    body: dict[str, object] = {"id": ev.id, "event": ev.event}
    body["at"] = round(time.time() if ev.at is None else ev.at, 3)
    if ev.error is not None:
        body[ERROR] = ev.error
    if ev.duplicate:
        body["duplicate"] = True
    return Message(f"{base}/{EVENT}", dump_json(body))


def decode_event(topic: str, payload: bytes) -> IntercomEvent:
    """A `<t>/event`. Unknown fields are ignored; an unknown event name is kept as is."""
    data = load_json_object(topic, payload)
    try:
        name = data.get("event")
        if not isinstance(name, str) or not name:
            raise ValueError(f"event must be a name, not {name!r}")
        ev_id = _optional_str("id", data.get("id")) or None
        at = data.get("at")
        if at is not None and not is_finite_number(at):
            raise ValueError(f"at must be seconds since the epoch, not {at!r}")
        error = data.get(ERROR)
        if error is not None and not isinstance(error, str):
            raise ValueError(f"error must be a string, not {error!r}")
        duplicate = data.get("duplicate", False)
        if not isinstance(duplicate, bool):
            raise ValueError(f"duplicate must be true or false, not {duplicate!r}")
    except ValueError as exc:
        raise DecodeError(topic, str(exc), payload[:KEPT_PAYLOAD_BYTES]) from None
    return IntercomEvent(ev_id, name, None if at is None else float(at), error, duplicate)


def _optional_str(name: str, value: object) -> str:
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{name} must be a string or null, not {value!r}")
    return value or ""


class GatewaySpeech:
    """The gateway's side of the convention, whatever makes the sound (espeak-ng and
    libVLC in devices/local/speaker.py, a timer in simulators/vipctl_intercom.py).

    `take()` answers a `say` (refused, a re-send answered and never said twice, or queued);
    `run()` says the queue one at a time, by priority, through `speak` (which returns "" when
    the announcement was played, else why not), and reports every step with `send`.
    """

    def __init__(self, base: str, *, speak: Speak, send: Send,
                 state: dict[str, StateValue] | None = None,
                 reported: Callable[[], Mapping[str, StateValue]] | None = None) -> None:
        """`state`: the gateway's state dict, kept up to date here (a caller may share
        it); `reported`: what goes into `<t>/state` (by default `state` itself)."""
        self.base = base
        self.queue = AnnouncementQueue()
        self.state = state if state is not None else {}
        for key, value in (STATUS, "idle"), (SPEAKING, ""), (QUEUE, 0), (ANNOUNCED, ""):
            self.state.setdefault(key, value)
        self._speak = speak
        self._send = send
        self._reported = reported or (lambda: self.state)
        self._work = asyncio.Event()

    def state_message(self) -> Message:
        return encode_state(self.base, self._reported())

    def event(self, announcement_id: str | None, event: str, *, error: str | None = None,
              duplicate: bool = False) -> Message:
        ev = IntercomEvent(announcement_id, event, error=error, duplicate=duplicate)
        return encode_event(self.base, ev)

    def take(self, topic: str, payload: bytes) -> list[Message]:
        """The answer to a `<t>/say`."""
        try:
            a = decode_say(topic, payload)
        except RefusedSay as exc:
            log.warning("%s: refused an announcement: %s", self.base, exc.reason)
            return [self.event(exc.id, "refused", error=exc.reason)]
        known = self.queue.last_event(a.id)
        if known in ("queued", "started", "done"):  # a re-send: answer, never say it twice
            return [self.event(a.id, known, duplicate=True), self.state_message()]
        try:
            self.queue.push(a)  # a failed id may be sent again: that is a new attempt
        except ValueError as exc:
            return [self.event(a.id, "refused", error=str(exc))]
        self.state[QUEUE] = len(self.queue)
        self._work.set()
        return [self.event(a.id, "queued"), self.state_message()]

    async def run(self) -> None:
        """Say what is queued, one at a time, forever (one loop: no two ever overlap)."""
        while True:
            a = self.queue.pop()
            if a is None:
                self._work.clear()
                await self._work.wait()
                continue
            self.state.update({STATUS: "speaking", SPEAKING: a.id, QUEUE: len(self.queue)})
            await self._send([self.event(a.id, "started"), self.state_message()])
            error = await self._speak(a)
            self.queue.finish(a.id, ok=not error)
            if not error:
                self.state[ANNOUNCED] = a.id
            self.state.update({STATUS: "idle", SPEAKING: "", QUEUE: len(self.queue)})
            ending = self.event(a.id, "failed", error=error) if error else self.event(a.id, "done")
            await self._send([ending, self.state_message()])


class VipctlIntercomCodec(IntercomCodec[VipctlIntercomOptions]):
    """Controller side of one vipctl-intercom gateway. It has nothing to set, only to say."""

    convention: ClassVar[str] = "vipctl-intercom"
    kinds: ClassVar[frozenset[Kind]] = frozenset({"intercom"})

    def subscriptions(self) -> list[str]:
        base = self.options.topic
        return [f"{base}/{STATE}", f"{base}/{EVENT}", f"{base}/{AVAILABILITY}"]

    def encode(self, desired: State) -> list[Message]:
        for name in desired:
            raise UnsupportedCommand(self.device_id, name, "an intercom has no settable state")
        return []

    def announce(self, announcement: Announcement) -> list[Message]:
        try:
            return [encode_say(self.options.topic, announcement)]
        except ValueError as exc:
            raise UnsupportedCommand(self.device_id, "announce", str(exc)) from None

    def announcement_confirmation(self, announcement: Announcement) -> State:
        """The gateway's `done` event (or state) with the id: played, not only queued."""
        return {ANNOUNCED: announcement.id}

    def announcement_failure(self, announcement: Announcement) -> State:
        """Its `failed` or `refused` event with the id."""
        return {FAILED: announcement.id}

    def query(self) -> list[Message]:
        return [Message(f"{self.options.topic}/{GET}", b"")]

    def decode(self, topic: str, payload: bytes) -> Update | None:
        base = self.options.topic
        if topic == f"{base}/{AVAILABILITY}":
            return decode_availability(topic, payload)
        if topic == f"{base}/{STATE}":
            if payload.strip() == b"":  # a cleared retained state says nothing
                return Update()
            return Update(state=decode_state(topic, payload))
        if topic == f"{base}/{EVENT}":
            return _event_update(decode_event(topic, payload))
        return None


def _event_update(ev: IntercomEvent) -> Update:
    if ev.id is None:  # a refused say nobody can match to an announcement
        return Update()
    if ev.event == "done":  # a re-sent "done" (duplicate) confirms just the same
        return Update(state={ANNOUNCED: ev.id})
    if ev.event == "started":
        return Update(state={SPEAKING: ev.id})
    if ev.event == "queued":
        return Update(state={QUEUED: ev.id})
    if ev.event in ("failed", "refused"):
        return Update(state={FAILED: ev.id, ERROR: ev.error or ev.event})
    return Update()  # an event a newer gateway added


CODEC = VipctlIntercomCodec
