"""A real vipctl-intercom gateway: announcements spoken into the radio's audio input.

The device's side of docs/conventions-vipctl.md, through the same functions and
AnnouncementQueue as simulators/vipctl_intercom.py: a `<t>/say` is queued by priority (FIFO
within one), refused if malformed or the queue is full, and recognised when re-sent. One loop
speaks one announcement at a time, which is what makes overlap impossible: the text becomes
audio (pre-recorded clips for the fixed phrases, espeak-ng for the rest, usually just the
guest's name), the push-to-talk is keyed (with its lead-in), libVLC plays the audio into the
radio, and after the tail the PTT is released. Only then are `done` and `announced` published:
the audio has been played to its end, not merely queued or synthesised.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from devices.announcements import AnnouncementQueue
from devices.conventions.vipctl_intercom import (
    QUEUE,
    SAY,
    SPEAKING,
    STATUS,
    IntercomEvent,
    RefusedSay,
    decode_say,
    encode_event,
    encode_state,
)
from devices.conventions.vipctl_media import GET, availability
from devices.errors import DeviceError
from devices.local.ptt_relay import NoPtt
from devices.local.settings import MAX_AUDIO_S, PlayerEvent
from devices.local.tts import Tts, TtsError, wav_duration
from devices.model import ANNOUNCED, Announcement, Message, StateValue
from devices.ptt import PushToTalk
from devices.transports.base import Transport

if TYPE_CHECKING:  # libVLC is imported only where a player is built (devices/local/build.py)
    from devices.local.vlc_player import VlcPlayer
from devices.transports.mqtt import TransportUnavailable

log = logging.getLogger(__name__)

# How long one publication may wait for the transport (seconds).
PUBLISH_TIMEOUT_S = 2.0
# Playing may take this much longer than the audio lasts before it counts as hung.
PLAY_SLACK_S = 5.0
# Announcements kept in `spoken` (for tests and the demo's summary); older ones are dropped.
KEEP_SPOKEN = 200


@dataclass(frozen=True, slots=True)
class Segment:
    """One piece of an announcement: speech made from text, or a recorded clip."""

    text: str
    clip: Path | None = None


@dataclass(frozen=True, slots=True)
class Spoken:
    """One announcement that was played to its end."""

    id: str
    text: str
    files: tuple[Path, ...]
    audio_s: float  # length of the audio played, from the WAV headers (0 for other clips)
    start: float  # time.monotonic() when the PTT was keyed
    end: float  # after the tail, when it was released


def segments(text: str, clips: Mapping[str, Path]) -> list[Segment]:
    """`text` cut into recorded phrases (longest first) and the speech between them.

    "王先生已到访,请各岗位做好接待工作" with a clip for "已到访,请各岗位做好接待工作" is
    speech for "王先生", then the clip."""
    phrases = sorted(clips, key=len, reverse=True)
    out: list[Segment] = []
    spoken, i = "", 0
    while i < len(text):
        phrase = next((p for p in phrases if p and text.startswith(p, i)), None)
        if phrase is None:
            spoken += text[i]
            i += 1
            continue
        if spoken.strip():
            out.append(Segment(spoken))
        spoken = ""
        out.append(Segment(phrase, clips[phrase]))
        i += len(phrase)
    if spoken.strip():
        out.append(Segment(spoken))
    return out


class SpeakerGateway:
    """One speaker behind the vipctl-intercom topics `<base>/say|get|state|event|availability`."""

    def __init__(
        self, device_id: str, base: str, *, transport: Transport, tts: Tts, player: VlcPlayer,
        ptt: PushToTalk | None = None, clips: Mapping[str, Path] | None = None,
        volume: int = 100, own_availability: bool = False, max_audio: float = MAX_AUDIO_S,
    ) -> None:
        self.id = device_id
        self.base = base
        self.transport = transport
        self.tts = tts
        self.player = player
        self.ptt: PushToTalk = ptt or NoPtt()
        self.clips = dict(clips or {})
        self.volume = volume
        self.own_availability = own_availability
        self.max_audio = max_audio
        self.queue = AnnouncementQueue()
        self.state: dict[str, StateValue] = {STATUS: "idle", SPEAKING: "", QUEUE: 0,
                                             ANNOUNCED: ""}
        self.spoken: list[Spoken] = []
        self._work = asyncio.Event()
        self._ended: asyncio.Future[str] | None = None  # "" when played, else why not
        self._worker: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        player.on_event = self._on_player

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        self.player.start()
        self.player.set_volume(self.volume)
        opened = getattr(self.ptt, "start", None)  # a serial line opens its port, lines low
        if opened is not None:
            await opened()
        self.transport.subscribe(f"{self.base}/{SAY}", self._on_message)
        self.transport.subscribe(f"{self.base}/{GET}", self._on_message)
        self.transport.add_connection_listener(self._on_connection)
        self._worker = asyncio.create_task(self._speak(), name=f"speaker:{self.id}")
        if self.own_availability:
            await self._send([availability(self.base, True), self.state_message()])

    async def stop(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None
        if self.own_availability:
            await self._send([availability(self.base, False)])
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        closed = getattr(self.ptt, "close", None)  # unkeyed, the port let go
        if closed is not None:
            await closed()
        await self.player.close()

    def spoken_texts(self) -> list[str]:
        return [s.text for s in self.spoken]

    # --- the convention ------------------------------------------------------------------------

    def state_message(self) -> Message:
        return encode_state(self.base, self.state)

    def _event(self, announcement_id: str | None, event: str, *, error: str | None = None,
               duplicate: bool = False) -> Message:
        ev = IntercomEvent(announcement_id, event, error=error, duplicate=duplicate)
        return encode_event(self.base, ev)

    def _on_message(self, topic: str, payload: bytes) -> None:
        if topic == f"{self.base}/{GET}":
            self._spawn(self._send([self.state_message()]))
        elif topic == f"{self.base}/{SAY}":
            self._spawn(self._send(self._take(topic, payload)))

    def _take(self, topic: str, payload: bytes) -> list[Message]:
        try:
            a = decode_say(topic, payload)
        except RefusedSay as exc:
            log.warning("%s: refused an announcement: %s", self.id, exc.reason)
            return [self._event(exc.id, "refused", error=exc.reason)]
        known = self.queue.last_event(a.id)
        if known in ("queued", "started", "done"):  # a re-send: answer, never say it twice
            return [self._event(a.id, known, duplicate=True), self.state_message()]
        try:
            self.queue.push(a)  # a failed id may come again: that is a new attempt
        except ValueError as exc:
            return [self._event(a.id, "refused", error=str(exc))]
        self.state[QUEUE] = len(self.queue)
        self._work.set()
        return [self._event(a.id, "queued"), self.state_message()]

    def _on_connection(self, up: bool) -> None:
        if up:
            self._spawn(self._send([self.state_message()]))

    # --- speaking ------------------------------------------------------------------------------

    async def _speak(self) -> None:
        while True:
            a = self.queue.pop()
            if a is None:
                self._work.clear()
                await self._work.wait()
                continue
            self.state.update({STATUS: "speaking", SPEAKING: a.id, QUEUE: len(self.queue)})
            await self._send([self._event(a.id, "started"), self.state_message()])
            error = await self.say(a)
            self.queue.finish(a.id, ok=not error)
            if not error:
                self.state[ANNOUNCED] = a.id
            self.state.update({STATUS: "idle", SPEAKING: "", QUEUE: len(self.queue)})
            ending = self._event(a.id, "failed", error=error) if error else \
                self._event(a.id, "done")
            await self._send([ending, self.state_message()])

    async def say(self, a: Announcement) -> str:
        """Play one announcement to its end; "" when it was, else why not."""
        try:
            files = await self._audio(a)
        except (TtsError, OSError) as exc:
            log.error("%s: %s: %s", self.id, a.id, exc)
            return f"speech: {exc}"
        lengths = [_length(f) for f in files]
        audio_s = sum(x or 0.0 for x in lengths)
        # A clip in another format has no length we can read: allow the longest then.
        limit = self.max_audio if None in lengths else min(audio_s * 2 + PLAY_SLACK_S,
                                                            self.max_audio)
        start = time.monotonic()
        try:
            async with self.ptt.keyed():
                error = await self._play(files, audio_s, limit)
        except DeviceError as exc:  # the relay did not key, the serial port is gone
            log.error("%s: %s: %s", self.id, a.id, exc)
            return f"push-to-talk: {exc}"
        if not error:
            self.spoken.append(Spoken(a.id, a.text, tuple(files), audio_s, start,
                                      time.monotonic()))
            del self.spoken[:-KEEP_SPOKEN]
        return error

    async def _audio(self, a: Announcement) -> list[Path]:
        files = []
        for segment in segments(a.text, self.clips):
            if segment.clip is not None:
                if not segment.clip.is_file():
                    raise OSError(f"clip {segment.clip} is missing")
                files.append(segment.clip)
            else:
                files.append(await self.tts.wav(segment.text, a.lang))
        if not files:
            raise TtsError(f"nothing to say in {a.text!r}")
        return files

    async def _play(self, files: list[Path], audio_s: float, limit: float) -> str:
        if audio_s > self.max_audio:
            return f"audio output: {audio_s:.1f} s is longer than the {self.max_audio:g} s allowed"
        self._ended = asyncio.get_running_loop().create_future()
        self.player.play_files(files)
        try:
            async with asyncio.timeout(limit):
                return await self._ended
        except TimeoutError:
            self.player.stop()
            return f"audio output: still playing after {limit:.1f} s"
        finally:
            self._ended = None

    def _on_player(self, event: PlayerEvent) -> None:
        ended = self._ended
        if ended is None or ended.done():
            return
        if event.kind == "ended":
            ended.set_result("")
        elif event.kind == "failed":
            ended.set_result(f"audio output: {event.detail.get('error', 'failed')}")

    # --- plumbing ------------------------------------------------------------------------------

    async def _send(self, messages: list[Message]) -> None:
        for m in messages:
            try:
                await self.transport.publish(m.topic, m.payload, retain=m.retain,
                                             timeout=PUBLISH_TIMEOUT_S)
            except TransportUnavailable as exc:  # it speaks on; its state goes out later
                log.debug("%s: %s not sent: %s", self.id, m.topic, exc)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _length(path: Path) -> float | None:
    try:
        return wav_duration(path)
    except (ValueError, OSError):  # a clip in another format: libVLC plays it all the same
        return None

