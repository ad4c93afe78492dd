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
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from common.tasks import TaskSet
from devices.announcements import AnnouncementQueue
from devices.conventions.vipctl_intercom import SAY, GatewaySpeech
from devices.conventions.vipctl_media import GET, availability
from devices.errors import DeviceError
from devices.local.ptt_relay import NoPtt
from devices.local.settings import MAX_AUDIO_S, PlayerEvent
from devices.local.tts import Tts, TtsError, wav_duration
from devices.model import Announcement, Message, StateValue
from devices.ptt import PushToTalk
from devices.transports.base import Transport, TransportUnavailable

if TYPE_CHECKING:  # libVLC is imported only where a player is built (devices/local/build.py)
    from devices.local.vlc_player import VlcPlayer

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
        self.speech = GatewaySpeech(base, speak=self.say, send=self._send)
        self.spoken: list[Spoken] = []
        self._ended: asyncio.Future[str] | None = None  # "" when played, else why not
        self._tasks = TaskSet(f"speaker:{device_id}", logger=log)
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
        self._tasks.spawn(self.speech.run(), "speech")
        if self.own_availability:
            await self._send([availability(self.base, True), self.state_message()])

    async def stop(self) -> None:
        await self._tasks.stop()
        if self.own_availability:
            await self._send([availability(self.base, False)])
        closed = getattr(self.ptt, "close", None)  # unkeyed, the port let go
        if closed is not None:
            await closed()
        await self.player.close()

    def spoken_texts(self) -> list[str]:
        return [s.text for s in self.spoken]

    # --- the convention ------------------------------------------------------------------------

    @property
    def state(self) -> dict[str, StateValue]:
        return self.speech.state

    @property
    def queue(self) -> AnnouncementQueue:
        return self.speech.queue

    def state_message(self) -> Message:
        return self.speech.state_message()

    def _on_message(self, topic: str, payload: bytes, retained: bool) -> None:
        if topic == f"{self.base}/{GET}":
            self._tasks.spawn(self._send([self.state_message()]), "state")
        elif retained:  # a `say` left on the broker: never spoken (again)
            log.warning("%s: ignored a retained announcement on %s", self.id, topic)
        elif topic == f"{self.base}/{SAY}":
            self._tasks.spawn(self._send(self.speech.take(topic, payload)), "answer")

    def _on_connection(self, up: bool) -> None:
        if up:
            self._tasks.spawn(self._send([self.state_message()]), "state")

    # --- speaking ------------------------------------------------------------------------------

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


def _length(path: Path) -> float | None:
    try:
        return wav_duration(path)
    except (ValueError, OSError):  # a clip in another format: libVLC plays it all the same
        return None

