"""A vipctl-intercom gateway as seen on MQTT: what the PA gateway does, without the audio.

It follows docs/conventions-vipctl.md through the device-side functions and the
AnnouncementQueue of devices/conventions/vipctl_intercom.py: a `<t>/say` is queued by
priority (FIFO within one), spoken one at a time for `seconds_per_char` per character, and
reported with queued/started/done events and the retained state. Each spoken text is kept in
`spoken` with its monotonic start and end, so tests can prove order and that nothing overlapped.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from devices.announcements import AnnouncementQueue
from devices.conventions.vipctl_intercom import (
    EVENT,
    QUEUE,
    SAY,
    SPEAKING,
    STATUS,
    GatewaySpeech,
    VipctlIntercomOptions,
)
from devices.conventions.vipctl_media import AVAILABILITY, GET, STATE
from devices.model import ANNOUNCED, Announcement, Kind, Message, StateValue
from simulators.base import SimulatedDevice
from simulators.vipctl_gateway import VipctlGateway

# Speaking time per character: real Mandarin TTS takes ~0.2 s, tests want milliseconds.
SECONDS_PER_CHAR = 0.01
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


class VipctlIntercomGateway(VipctlGateway):
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
        self.state = dict(state or {})
        self.seconds_per_char = seconds_per_char
        self.failing = False  # fault knob: the speech engine or the amplifier has failed
        self.speech = GatewaySpeech(options.topic, speak=self._say, send=self._emit,
                                    state=self.state, reported=self.reported)
        self.spoken: list[Spoken] = []

    # --- the convention ----------------------------------------------------------------

    def command_topics(self) -> list[str]:
        base = self.options.topic
        return [f"{base}/{SAY}", f"{base}/{GET}"]

    def state_topics(self) -> list[str]:
        base = self.options.topic
        return [f"{base}/{STATE}", f"{base}/{EVENT}", f"{base}/{AVAILABILITY}"]

    @property
    def topic(self) -> str:
        return self.options.topic

    def handle(self, topic: str, payload: bytes) -> list[Message]:
        base = self.options.topic
        if topic == f"{base}/{GET}":
            return [self.state_message()]
        if topic != f"{base}/{SAY}":
            return []
        return self.speech.take(topic, payload)

    @property
    def queue(self) -> AnnouncementQueue:
        return self.speech.queue

    @queue.setter
    def queue(self, queue: AnnouncementQueue) -> None:  # a test's smaller queue
        self.speech.queue = queue

    def state_message(self) -> Message:
        return self.speech.state_message()

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
        self._tasks.spawn(self.speech.run(), "speech")
        await super().start()

    async def _say(self, a: Announcement) -> str:
        start = time.monotonic()
        await asyncio.sleep(len(a.text) * self.seconds_per_char)
        if self.failing:
            return "simulated speech failure"
        self.spoken.append(Spoken(a.id, a.text, a.priority, a.lang, start, time.monotonic()))
        return ""


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
