"""One libVLC list player, driven from asyncio: the background music, the promo video, the
speaker's announcements.

libVLC runs its own threads and calls its event callbacks from them; calling libVLC back from
inside a callback can deadlock it. So a callback here does one thing, hand the event's name
to the asyncio loop (`call_soon_threadsafe`), and everything else happens on the loop thread.
Events are only wake-ups: each handler looks at the player's actual state before acting, so
a late "stopped" from an earlier stop cannot trigger a restart of a player that is playing.

A player that is asked to keep playing (music, video) restarts when playback stops or fails
(a file that vanished, a stream that broke) with a growing delay, and resolves its media
again each time, so a file that comes back is played again. Every restart and recovery is an
event for whoever listens (the agent's log, the controller's event log through the state).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import vlc

from common.tasks import TaskSet
from devices.errors import DeviceError
from devices.local.media_list import MediaError, MediaItem, resolve
from devices.local.settings import KeepPlaying, PlayerEvent, VlcSettings

log = logging.getLogger(__name__)

# libVLC states in which the player is on its way to playing, or playing.
_PLAYING = frozenset({vlc.State.Opening, vlc.State.Buffering, vlc.State.Playing})
# Player events → names handled on the loop thread.
_PLAYER_EVENTS = {
    vlc.EventType.MediaPlayerPlaying: "playing",
    vlc.EventType.MediaPlayerPaused: "paused",
    vlc.EventType.MediaPlayerStopped: "stopped",
    vlc.EventType.MediaPlayerEncounteredError: "error",
}
_LIST_EVENTS = {vlc.EventType.MediaListPlayerPlayed: "list_ended"}
# libVLC takes a moment between play() and "opening"; a look in that moment sees "stopped".
OPEN_GRACE_S = 1.0
# Between two items of a list libVLC is "ended" for a few milliseconds: only not playing for
# this long (and at two looks) counts as stopped.
SETTLE_S = 0.5
# ...but on a loaded machine the moment between two items (the next one set, not yet opened)
# has lasted over SETTLE_S, and libVLC's "stopped" at the boundary made the first of the two
# looks: a list held there counts as stopped only after this long.
BOUNDARY_S = 5.0


class PlayerError(DeviceError):
    """libVLC could not be set up (not installed, a bad argument)."""


class VlcPlayer:
    """One libVLC MediaListPlayer. Call start() in the running loop, close() at the end."""

    def __init__(
        self, name: str, *, settings: VlcSettings | None = None, root: Path = Path("."),
        keep_playing: KeepPlaying | None = None, shuffle: bool = False,
        on_event: Callable[[PlayerEvent], None] | None = None,
    ) -> None:
        """`keep_playing`: restart after a stop or failure (music, video); for a speaker,
        KeepPlaying(enabled=False). `root`: where relative media are."""
        self.name = name
        self.settings = settings or VlcSettings()
        self.root = root
        self.policy = keep_playing or KeepPlaying()
        self.shuffle = shuffle
        self.on_event = on_event
        self.media = ""
        self.loop_list = False
        self.volume = 50
        self.wanted = "stopped"  # playing, paused or stopped: what the player was asked
        self.error = ""
        self.starts = 0  # items begun, loops included
        self.restarts = 0
        self._items: list[MediaItem] = []
        self._mrls: list[str] = []
        self._index = 0  # the item playing (or last played)
        self._failed_item = False  # the last failure was one item's, not the whole media's
        self._asked_at = 0.0  # monotonic time of the last play request to libVLC
        self._suspect: float | None = None  # when a look first found it not playing
        self._suspect_starts = 0  # `starts` at that look: an item begun since clears it
        self._started_at: float | None = None  # monotonic time the current item began
        self._delay = self.policy.first_delay
        self._restart: asyncio.Task[None] | None = None
        self._tasks = TaskSet(f"player:{name}", logger=log)  # the watchdog, a restart
        self._loop: asyncio.AbstractEventLoop | None = None
        self._instance: Any = None
        self._list_player: Any = None
        self._player: Any = None

    # --- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._instance = vlc.Instance(self.settings.instance_args())
        if self._instance is None:
            raise PlayerError(f"{self.name}: libVLC refused {self.settings.instance_args()}")
        self._list_player = self._instance.media_list_player_new()
        self._player = self._list_player.get_media_player()
        if self.settings.audio_output:
            self._player.audio_output_set(self.settings.audio_output)
        for kind, name in _PLAYER_EVENTS.items():
            self._player.event_manager().event_attach(kind, self._from_vlc, name)
        for kind, name in _LIST_EVENTS.items():
            self._list_player.event_manager().event_attach(kind, self._from_vlc, name)
        self._tasks.spawn(self._watch(), "watchdog")

    async def close(self) -> None:
        """Stop playing and let go of libVLC. Idempotent."""
        await self._tasks.stop()
        self._restart = None
        if self._list_player is None:
            return
        for kind in _PLAYER_EVENTS:
            self._player.event_manager().event_detach(kind)
        for kind in _LIST_EVENTS:
            self._list_player.event_manager().event_detach(kind)
        self._list_player.stop()
        self._list_player.release()
        self._instance.release()
        self._list_player = self._player = self._instance = None

    # --- commands (from the loop thread) -------------------------------------------------

    def set_media(self, media: str) -> None:
        """Play `media` from its beginning (if playing); it is resolved when played."""
        self.media = media
        self._items, self._mrls = [], []
        if self.wanted != "stopped":
            self.play(reload=True)

    def set_loop(self, loop: bool) -> None:
        self.loop_list = loop
        if self._list_player is not None:
            mode = vlc.PlaybackMode.loop if loop else vlc.PlaybackMode.default
            self._list_player.set_playback_mode(mode)

    def set_volume(self, volume: int) -> None:
        self.volume = volume
        if self._player is not None:
            self._player.audio_set_volume(volume)

    def play(self, *, reload: bool = False) -> None:
        """Play (or resume). A media that cannot be played sets `error`; a player that keeps
        playing tries again later."""
        self._cancel_restart()
        resume = self.wanted == "paused" and not reload and self._mrls
        self.wanted = "playing"
        if resume:
            self._list_player.set_pause(0)
            return
        self._play_from(0)

    def pause(self) -> None:
        self._cancel_restart()
        if self.wanted == "stopped":
            return
        self.wanted = "paused"
        self._list_player.set_pause(1)

    def stop(self) -> None:
        self._cancel_restart()
        self.wanted = "stopped"
        self._started_at = None
        self._list_player.stop()

    # --- what it is doing --------------------------------------------------------------------

    @property
    def playback(self) -> str:
        """What the player does now: playing only while libVLC plays and nothing failed."""
        if self.wanted != "playing":
            return self.wanted
        if self.error or self._player is None:
            return "stopped"
        state = self._player.get_state()
        # A real stop is the watchdog's to declare (it sets `error`), so a report never says
        # "stopped" for the moment between two items.
        return "playing" if state in _PLAYING or self._between_items(state) else "stopped"

    def _between_items(self, state: Any) -> bool:
        """Whether libVLC's `state` is the moment between two items of the list: the one
        ended ("ended", while looping or with more to come), the next one set and not yet
        opening ("nothing special"; on a loaded machine the moment lasts). Only once an item
        has begun since play()."""
        if self._started_at is None:
            return False
        if state == vlc.State.NothingSpecial:
            return True
        more = self.loop_list or self._index + 1 < len(self._mrls)
        return bool(state == vlc.State.Ended and more)

    def position(self) -> float:
        if self._player is None or self.playback == "stopped":
            return 0.0
        return max(float(self._player.get_time()), 0.0) / 1000.0

    def items(self) -> list[MediaItem]:
        return list(self._items)

    @property
    def libvlc_player(self) -> Any:
        """libVLC's MediaPlayer (after start()): for diagnostics and tests, e.g. to put an
        audio sink on it before playing. Never touch it from a libVLC callback."""
        return self._player

    # --- playing ---------------------------------------------------------------------------

    def _play_from(self, index: int) -> None:
        try:
            if not self._mrls:
                self._load()
        except MediaError as exc:
            self._failed(str(exc))
            return
        self._index = index % len(self._mrls)
        self._asked_at = time.monotonic()
        self._list_player.play_item_at_index(self._index)

    def play_files(self, paths: list[Path]) -> None:
        """Play these files once, in order (the speaker's announcement: name, then a clip)."""
        self._cancel_restart()
        self.media = " + ".join(p.name for p in paths)
        self.wanted = "playing"
        self.error = ""
        self._build([MediaItem(str(p)) for p in paths])
        self._play_from(0)

    def _load(self) -> None:
        self._build(resolve(self.media, root=self.root, shuffle=self.shuffle))

    def _build(self, items: list[MediaItem]) -> None:
        self._items = items
        media_list = self._instance.media_list_new()
        self._mrls = []
        for item in self._items:
            if item.url:
                m = self._instance.media_new_location(item.source)
            else:
                m = self._instance.media_new_path(item.source)
            if not self.settings.video:
                m.add_option(":no-video")
            if not self.settings.sound:
                m.add_option(":no-audio")
            media_list.add_media(m)
            self._mrls.append(m.get_mrl())
        self._list_player.set_media_list(media_list)
        self.set_loop(self.loop_list)

    def _failed(self, error: str, *, item: bool = False) -> None:
        started, now = self._started_at, time.monotonic()
        if started is not None and now - started >= self.policy.stable_after:
            self._delay = self.policy.first_delay  # it had played a good while: start over
        self.error = error
        self._failed_item = item
        self._started_at = None
        log.warning("%s: %s", self.name, error)
        self._emit("failed", error=error)
        if not self.policy.enabled:
            self.wanted = "stopped"
            return
        self._schedule_restart(error)

    def _schedule_restart(self, reason: str) -> None:
        if self._restart is not None or self._loop is None:
            return
        self._restart = self._tasks.spawn(self._restart_after(self._delay, reason), "restart")
        self._delay = min(self._delay * 2, self.policy.max_delay)

    async def _restart_after(self, delay: float, reason: str) -> None:
        await asyncio.sleep(delay)
        self._restart = None
        if self.wanted != "playing":
            return
        self.restarts += 1
        log.info("%s: restarting (%s), attempt %d", self.name, reason, self.restarts)
        self._emit("restarting", reason=reason, restarts=self.restarts)
        self._items, self._mrls = [], []  # the folder or file may have changed: look again
        # Past a broken item of a folder or playlist; from the top after anything else.
        self._play_from(self._index + 1 if self._failed_item else 0)

    def _cancel_restart(self) -> None:
        if self._restart is not None:
            self._restart.cancel()
            self._restart = None
        self._delay = self.policy.first_delay

    async def _watch(self) -> None:
        # Events can be missed (a stream that just hangs); a look now and then catches that.
        while True:
            await asyncio.sleep(self.policy.check_every)
            self.check()

    def check(self) -> None:
        """The watchdog's look (made every `check_every`, and on libVLC's "stopped"): a
        player that should play and has not, at two looks SETTLE_S apart with no item begun
        between them, has stopped; it is restarted (or, at a missed end, has ended)."""
        now = time.monotonic()
        if not self.policy.enabled or self.wanted != "playing" or self._restart is not None:
            self._suspect = None
            return
        state = self._player.get_state() if self._player is not None else None
        if state in _PLAYING or now - self._asked_at < OPEN_GRACE_S:
            self._suspect = None
            return
        if self._suspect is None or self.starts != self._suspect_starts:
            # Maybe between two items: look again. Two looks at two boundaries, with items
            # played between them, are no stop (with short clips on a loaded machine, looks
            # seconds apart can both land on one).
            self._suspect, self._suspect_starts = now, self.starts
            return
        settle = BOUNDARY_S if self._between_items(state) else SETTLE_S
        if now - self._suspect < settle:
            return
        self._suspect = None
        if state == vlc.State.Ended and not self.loop_list:
            self._ended()  # the normal end, whose event was missed
        else:
            self._failed(self.error or "playback stopped")

    # --- libVLC's events ---------------------------------------------------------------------

    def _from_vlc(self, event: Any, name: str) -> None:
        # On a libVLC thread: hand over, touch nothing of libVLC here.
        loop = self._loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop has closed
                loop.call_soon_threadsafe(self._on_vlc, name)

    def _on_vlc(self, name: str) -> None:
        if self._player is None:
            return
        if name == "playing":
            self._began()
        elif name == "error" and self.wanted == "playing":
            item = self._items[self._index].source if self._index < len(self._items) else "?"
            self._failed(f"cannot play {item}", item=True)
        elif name == "list_ended" and self.wanted == "playing" and not self.loop_list:
            self._ended()
        elif name == "stopped":
            self.check()
        self._emit("changed")

    def _ended(self) -> None:
        self.wanted, self._started_at = "stopped", None
        self._emit("ended")

    def _began(self) -> None:
        now = time.monotonic()
        self.starts += 1
        mrl = self._player.get_media().get_mrl() if self._player.get_media() else None
        if mrl in self._mrls:
            self._index = self._mrls.index(mrl)
        # Volume and output go to libVLC's audio output, which exists only once playing.
        self._player.audio_set_volume(self.volume)
        if self.settings.audio_device:
            self._player.audio_output_device_set(None, self.settings.audio_device)
        if self.settings.video and self.settings.fullscreen:
            self._player.set_fullscreen(True)
        self._started_at = self._started_at or now
        if self._restart is not None:  # it plays: whatever made us plan a restart is over
            self._restart.cancel()
            self._restart = None
        if self.error:
            was, self.error = self.error, ""
            log.info("%s: playing again after %s", self.name, was)
            self._emit("recovered", error=was, restarts=self.restarts)
        self._emit("started", index=self._index)

    def _emit(self, kind: str, **detail: Any) -> None:
        if self.on_event is None:
            return
        try:
            self.on_event(PlayerEvent(kind, detail))
        except Exception:  # the listener's bug must not stop the player
            log.exception("%s: listener failed on %s", self.name, kind)
