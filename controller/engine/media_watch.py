"""The event log's view of the media players: when one fails, and when it plays again.

A player that should be playing restarts on its own (devices/local/vlc_player.py, the same in
a remote agent); while it cannot play it reports `playback: stopped` with an `error`, and the
error clears once it plays again. Those two reports become `media` events, so that the event
log says the music stopped, why, and that it came back, whether the player is local or on an
agent, and without logging every state report.
"""

from __future__ import annotations

import logging

from controller.engine.context import CurrentVisit
from controller.store.events import EventLog
from devices.capabilities import MediaPlayer
from devices.device import DeviceEvent
from devices.model import ERROR, PLAYBACK
from devices.registry import DeviceRegistry

log = logging.getLogger(__name__)

# How much of a player's error text goes into the log, quoted: the text is the device's, so
# it may hold a newline that would forge a log line, or be 60 kB long (the event log keeps
# it whole, as JSON).
LOGGED_ERROR_CHARS = 200


class MediaWatch:
    """Listens to every media device of a registry."""

    def __init__(self, registry: DeviceRegistry, events: EventLog, *,
                 current: CurrentVisit | None = None) -> None:
        self.registry = registry
        self.events = events
        self.current = current or CurrentVisit()
        self._errors: dict[str, str] = {}  # device id → the error it last reported
        self._players = registry.having(MediaPlayer)
        for device_id in self._players:
            registry[device_id].add_listener(self._on_event)

    def _on_event(self, event: DeviceEvent) -> None:
        if event.kind != "state" or ERROR not in event.detail.get("changed", {}):
            return
        player = self._players[event.device_id]
        error = player.error
        was = self._errors.get(event.device_id, "")
        self._errors[event.device_id] = error
        playback = player.state.get(PLAYBACK)
        if error and error != was:
            log.warning("%s: %s", event.device_id, _quoted(error))
            self._log(event.device_id, "failed", {"error": error, "playback": playback})
        elif was and not error:
            log.info("%s: playing again (was: %s)", event.device_id, _quoted(was))
            self._log(event.device_id, "recovered", {"was": was, "playback": playback})

    def _log(self, device_id: str, result: str, detail: dict[str, object]) -> None:
        # A failure to write is logged by the device's listener loop (Device._emit).
        self.events.append("media", visit_id=self.current.id, device_id=device_id,
                           detail=detail, result=result)


def _quoted(text: str) -> str:
    """The device's text as one quoted line of bounded length."""
    if len(text) <= LOGGED_ERROR_CHARS:
        return repr(text)
    return f"{text[:LOGGED_ERROR_CHARS]!r}… ({len(text):,} characters)"
