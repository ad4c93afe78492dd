"""A vipctl-media player as seen on MQTT: what the media agent does, without the video.

It follows docs/conventions-vipctl.md through the device-side functions of
devices/conventions/vipctl_media.py: a `<t>/set` is applied whole or refused whole, the full
state is republished (retained) after every command, every change and every `<t>/get`. It
"plays": the position advances in real time while playing, a looping item wraps, a
non-looping item ends (playback "stopped"), and media listed in `unplayable` fail the way a
missing file does (playback "stopped" with an error).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Mapping

from devices.conventions.vipctl_media import (
    AVAILABILITY,
    GET,
    SET,
    STATE,
    VipctlMediaOptions,
    check_field,
    decode_command,
    encode_state,
)
from devices.errors import DecodeError
from devices.model import LOOP, MEDIA, PLAYBACK, POWER, VOLUME, Kind, Message, StateValue
from simulators.base import SimulatedDevice
from simulators.vipctl_gateway import VipctlGateway

# Length of any item not listed in `durations`: long enough that no test sees it end.
DEFAULT_DURATION_S = 180.0
# A player switched on with nothing loaded: the agent's state after a fresh install.
INITIAL: dict[str, StateValue] = {
    POWER: True, PLAYBACK: "stopped", MEDIA: "", LOOP: False, VOLUME: 50,
}


class VipctlMediaPlayer(VipctlGateway):
    """One media player following the vipctl-media convention."""

    def __init__(
        self,
        device_id: str,
        options: VipctlMediaOptions,
        *,
        host: str,
        port: int,
        topic_prefix: str = "",
        state: dict[str, StateValue] | None = None,
        durations: Mapping[str, float] | None = None,
        unplayable: Iterable[str] = (),
    ) -> None:
        """`durations`: seconds per media item (DEFAULT_DURATION_S for others);
        `unplayable`: media that fail to open, like a missing file."""
        super().__init__(device_id, host=host, port=port, topic_prefix=topic_prefix)
        self.options = options
        self.state = {**INITIAL, **(state or {})}
        self.durations = dict(durations or {})
        self.unplayable = set(unplayable)
        self.error = ""
        self._position = 0.0  # seconds into the item at self._since (or now, when not playing)
        self._since: float | None = None  # monotonic time playing (re)started from _position
        self._end: asyncio.Task[None] | None = None

    # --- the convention ----------------------------------------------------------------

    def command_topics(self) -> list[str]:
        base = self.options.topic
        return [f"{base}/{SET}", f"{base}/{GET}"]

    def state_topics(self) -> list[str]:
        base = self.options.topic
        return [f"{base}/{STATE}", f"{base}/{AVAILABILITY}"]

    @property
    def topic(self) -> str:
        return self.options.topic

    def handle(self, topic: str, payload: bytes) -> list[Message]:
        base = self.options.topic
        if topic == f"{base}/{GET}":
            return [self.state_message()]
        if topic != f"{base}/{SET}":
            return []
        try:
            fields = decode_command(topic, payload)
        except DecodeError as exc:  # refused whole: nothing changes, the state says why
            self.error = f"refused: {exc.reason}"
            return [self.state_message()]
        self.apply(fields)
        return [self.state_message()]

    def state_message(self) -> Message:
        return encode_state(
            self.options.topic, self.reported(), position=self.position(), error=self.error
        )

    async def change_locally(self, state: dict[str, StateValue]) -> None:
        """Someone used the player's own remote: apply and report, as after a command."""
        self.apply({name: check_field(name, value) for name, value in state.items()})
        await self._emit([self.state_message()])

    # --- playing -------------------------------------------------------------------------

    def duration(self) -> float:
        return self.durations.get(str(self.state[MEDIA]), DEFAULT_DURATION_S)

    def position(self) -> float:
        """Seconds into the current item, as the player would report it now."""
        self._sync()
        if self._since is None:
            return self._position
        elapsed = self._position + time.monotonic() - self._since
        length = self.duration()
        if self.state[LOOP]:
            return elapsed % length if length > 0 else 0.0
        return min(elapsed, length)

    def apply(self, fields: Mapping[str, StateValue]) -> None:
        """Apply a validated command the way the agent does (power, media, ..., playback)."""
        self._position, self._since = self.position(), None  # rebase the clock on now
        self.error = ""
        st = self.state
        if POWER in fields:
            st[POWER] = fields[POWER]
            if fields[POWER] is False:  # off: nothing plays, nothing shows
                st[PLAYBACK], self._position = "stopped", 0.0
        if MEDIA in fields and fields[MEDIA] != st[MEDIA]:
            st[MEDIA], self._position = fields[MEDIA], 0.0
        for name in (LOOP, VOLUME):
            if name in fields:
                st[name] = fields[name]
        wanted = fields.get(PLAYBACK, st[PLAYBACK])
        if wanted in ("playing", "paused"):
            st[POWER] = True  # asking to play switches the player on
        if wanted == "stopped":
            self._position = 0.0
        elif wanted == "playing" and (problem := self._cannot_play()):
            self.error, wanted, self._position = problem, "stopped", 0.0
        st[PLAYBACK] = wanted
        self._sync()
        self._schedule_end()

    def _cannot_play(self) -> str:
        media = str(self.state[MEDIA])
        if not media:
            return "nothing to play: no media set"
        if media in self.unplayable:
            return f"cannot open {media}: no such file or directory"
        return ""

    def _sync(self) -> None:
        # self.state may be changed directly (tests, the contract rig): follow it.
        playing = self.state.get(PLAYBACK) == "playing"
        if playing and self._since is None:
            self._since = time.monotonic()
        elif not playing and self._since is not None:
            self._position += time.monotonic() - self._since
            self._since = None

    def _schedule_end(self) -> None:
        if self._end is not None:
            self._end.cancel()
            self._end = None
        if self.state[PLAYBACK] == "playing" and not self.state[LOOP]:
            remaining = max(self.duration() - self.position(), 0.0)
            self._end = self._tasks.spawn(self._ended(remaining), "end")

    async def _ended(self, after: float) -> None:
        await asyncio.sleep(after)
        self._end = None
        self.state[PLAYBACK], self._position, self._since = "stopped", 0.0, None
        await self._emit([self.state_message()])


def make(
    device_id: str,
    kind: Kind,
    options: VipctlMediaOptions,
    *,
    host: str,
    port: int,
    topic_prefix: str = "",
    state: dict[str, StateValue] | None = None,
) -> SimulatedDevice:
    if kind != "media":
        raise ValueError(f"vipctl-media drives media players, not {kind!r}")
    return VipctlMediaPlayer(
        device_id, options, host=host, port=port, topic_prefix=topic_prefix, state=state
    )
