"""A vipctl-intercom gateway as seen on MQTT: what the PA gateway does, without the audio.

It follows docs/conventions-vipctl.md through the device-side functions and the
AnnouncementQueue of devices/conventions/vipctl_intercom.py: a `<t>/say` is queued by
priority (FIFO within one), spoken one at a time for `seconds_per_char` per character, and
reported with queued/started/done events and the retained state. Each spoken text is kept in
`spoken` with its monotonic start and end, so tests can prove order and that nothing overlapped.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass

import aiomqtt

from devices.announcements import AnnouncementQueue
from devices.conventions.vipctl_intercom import (
    EVENT,
    QUEUE,
    SAY,
    SPEAKING,
    STATUS,
    IntercomEvent,
    RefusedSay,
    VipctlIntercomOptions,
    decode_say,
    encode_event,
    encode_state,
)
from devices.conventions.vipctl_media import AVAILABILITY, GET, STATE, availability
from devices.model import ANNOUNCED, Announcement, Kind, Message, StateValue
from simulators.base import SimulatedDevice

# Speaking time per character: real Mandarin TTS takes ~0.2 s, tests want milliseconds.
SECONDS_PER_CHAR = 0.01
# How long one publication from the gateway's own clock (started, done) may take.
PUBLISH_TIMEOUT_S = 2.0
# The state fields change_locally() may set.
LOCAL_FIELDS = frozenset({STATUS, SPEAKING, QUEUE, ANNOUNCED})


@dataclass(frozen=True, slots=True)
class Spoken:
    """One announcement the simulated loudspeaker actually said."""

    id: str
    text: str
    priority: int
    lang: str
    start: float  # time.monotonic()
    end: float


class VipctlIntercomGateway(SimulatedDevice):
    """One intercom/PA gateway following the vipctl-intercom convention."""

    def __init__(
        self,
        device_id: str,
        options: VipctlIntercomOptions,
        *,
        host: str,
        port: int,
        topic_prefix: str = "",
        state: dict[str, StateValue] | None = None,
        seconds_per_char: float = SECONDS_PER_CHAR,
    ) -> None:
        super().__init__(device_id, host=host, port=port, topic_prefix=topic_prefix)
        self.options = options
        self.state = {STATUS: "idle", SPEAKING: "", QUEUE: 0, ANNOUNCED: "", **(state or {})}
        self.seconds_per_char = seconds_per_char
        self.failing = False  # fault knob: the speech engine or the amplifier has failed
        self.queue = AnnouncementQueue()
        self.spoken: list[Spoken] = []
        self._work = asyncio.Event()
        self._speaker: asyncio.Task[None] | None = None

    # --- the convention ----------------------------------------------------------------

    def command_topics(self) -> list[str]:
        base = self.options.topic
        return [f"{base}/{SAY}", f"{base}/{GET}"]

    def state_topics(self) -> list[str]:
        base = self.options.topic
        return [f"{base}/{STATE}", f"{base}/{EVENT}", f"{base}/{AVAILABILITY}"]

    def will(self) -> Message:
        return availability(self.options.topic, False)

    def birth(self) -> list[Message]:
        return [availability(self.options.topic, True), self.state_message()]

    def handle(self, topic: str, payload: bytes) -> list[Message]:
        base = self.options.topic
        if topic == f"{base}/{GET}":
            return [self.state_message()]
        if topic != f"{base}/{SAY}":
            return []
        try:
            a = decode_say(topic, payload)
        except RefusedSay as exc:
            return [self._event(exc.id, "refused", error=exc.reason)]
        known = self.queue.last_event(a.id)
        if known in ("queued", "started", "done"):  # a re-send: answer, never say it twice
            return [self._event(a.id, known, duplicate=True), self.state_message()]
        try:
            self.queue.push(a)  # a failed id may be sent again: that is a new attempt
        except ValueError as exc:
            return [self._event(a.id, "refused", error=str(exc))]
        self.state[QUEUE] = len(self.queue)
        self._work.set()
        return [self._event(a.id, "queued"), self.state_message()]

    def state_message(self) -> Message:
        return encode_state(self.options.topic, self.reported())

    async def change_locally(self, state: dict[str, StateValue]) -> None:
        """Someone used the PA by hand (a live microphone announcement): report the state."""
        unknown = set(state) - LOCAL_FIELDS
        if unknown:
            raise ValueError(f"an intercom reports only {sorted(LOCAL_FIELDS)}, not {unknown}")
        self.state.update(state)
        await self._emit([self.state_message()])

    def spoken_texts(self) -> list[str]:
        return [s.text for s in self.spoken]

    # --- speaking ------------------------------------------------------------------------

    async def start(self) -> None:
        if self._speaker is None:
            self._speaker = asyncio.create_task(self._speak(), name=f"speaker:{self.device_id}")
        await super().start()

    async def stop(self) -> None:
        if self._speaker is not None:
            await cancel_and_wait(self._speaker)
            self._speaker = None
        await super().stop()

    async def _speak(self) -> None:
        # One loop, one announcement at a time: this is what makes overlap impossible.
        while True:
            a = self.queue.pop()
            if a is None:
                self._work.clear()
                await self._work.wait()
                continue
            self.state.update({STATUS: "speaking", SPEAKING: a.id, QUEUE: len(self.queue)})
            await self._emit([self._event(a.id, "started"), self.state_message()])
            ok = await self._say(a)
            self.queue.finish(a.id, ok=ok)
            if ok:
                self.state[ANNOUNCED] = a.id
            self.state.update({STATUS: "idle", SPEAKING: "", QUEUE: len(self.queue)})
            ending = self._event(a.id, "done") if ok else self._event(
                a.id, "failed", error="simulated speech failure"
            )
            await self._emit([ending, self.state_message()])

    async def _say(self, a: Announcement) -> bool:
        start = time.monotonic()
        await asyncio.sleep(len(a.text) * self.seconds_per_char)
        if self.failing:
            return False
        self.spoken.append(Spoken(a.id, a.text, a.priority, a.lang, start, time.monotonic()))
        return True

    def _event(
        self, announcement_id: str | None, event: str, *, error: str | None = None,
        duplicate: bool = False,
    ) -> Message:
        ev = IntercomEvent(announcement_id, event, error=error, duplicate=duplicate)
        return encode_event(self.options.topic, ev)

    async def _emit(self, messages: list[Message]) -> None:
        # Pending replies to commands go first: a "started" never overtakes its "queued".
        if self._pending:
            await asyncio.wait(list(self._pending))
        if self.faults.reply_delay:
            await asyncio.sleep(self.faults.reply_delay)
        if not self.connected.is_set():
            return  # an offline gateway still speaks; its birth reports the state later
        with contextlib.suppress(aiomqtt.MqttError, RuntimeError, TimeoutError):
            async with asyncio.timeout(PUBLISH_TIMEOUT_S):
                await self.publish_all(messages)


async def cancel_and_wait(task: asyncio.Task[None]) -> None:
    """Cancel `task` and wait until it has ended.

    Python 3.11's asyncio.wait_for (which aiomqtt's publish uses) swallows a cancellation that
    arrives as the awaited PUBACK does (CPython gh-86296, fixed in 3.12), so one cancel() is
    not always enough: repeat it until the task is done.
    """
    while not task.done():
        task.cancel()
        await asyncio.wait([task], timeout=0.1)


def make(
    device_id: str,
    kind: Kind,
    options: VipctlIntercomOptions,
    *,
    host: str,
    port: int,
    topic_prefix: str = "",
    state: dict[str, StateValue] | None = None,
) -> SimulatedDevice:
    if kind != "intercom":
        raise ValueError(f"vipctl-intercom drives intercoms, not {kind!r}")
    return VipctlIntercomGateway(
        device_id, options, host=host, port=port, topic_prefix=topic_prefix, state=state
    )
