"""A real vipctl-media player: the device's side of the convention, on a libVLC player.

It follows docs/conventions-vipctl.md through the device-side functions of
devices/conventions/vipctl_media.py, exactly as simulators/vipctl_media.py does, but plays for
real: a `<t>/set` is applied whole (power, media, loop, volume, playback) or refused whole;
the full state goes out (retained) after every command, every change of the player's own
(an item ended, a restart, a recovery) and every `<t>/get`. The last command applied is kept
in a small JSON file, if given one, and applied again at start: the music comes back after a
power cut before vipctl has even noticed.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from common.tasks import TaskSet
from devices.conventions.vipctl_media import (
    GET,
    SET,
    availability,
    check_field,
    decode_command,
    encode_state,
)
from devices.errors import DecodeError
from devices.local.settings import PlayerEvent
from devices.model import LOOP, MEDIA, PLAYBACK, POWER, VOLUME, Message, StateValue
from devices.transports.base import Transport

if TYPE_CHECKING:  # libVLC is imported only where a player is built (devices/local/build.py)
    from devices.local.vlc_player import VlcPlayer
from devices.transports.mqtt import TransportUnavailable

log = logging.getLogger(__name__)

# A player switched on with nothing loaded: the state after a fresh install.
INITIAL: dict[str, StateValue] = {
    POWER: True, PLAYBACK: "stopped", MEDIA: "", LOOP: False, VOLUME: 50,
}
# How long one state publication may wait for the transport (seconds).
PUBLISH_TIMEOUT_S = 2.0

PlayerListener = Callable[[str, PlayerEvent], None]


class PlayerDevice:
    """One libVLC player behind the vipctl-media topics `<base>/set|get|state|availability`."""

    def __init__(
        self, device_id: str, base: str, player: VlcPlayer, transport: Transport, *,
        state_file: Path | None = None, own_availability: bool = False,
        listener: PlayerListener | None = None,
    ) -> None:
        """`own_availability`: publish `<base>/availability` here (a loopback); over MQTT the
        transport's status topic and last will do it. `listener` hears the player's events."""
        self.id = device_id
        self.base = base
        self.player = player
        self.transport = transport
        self.state_file = state_file
        self.own_availability = own_availability
        self.listener = listener
        self.power = True
        self.refused = ""  # why the last command was refused, until one is applied
        self._last_sent: bytes | None = None
        self._report_pending = False
        self._tasks = TaskSet(f"player:{device_id}", logger=log)
        player.on_event = self._on_player

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        self.player.start()
        self.player.set_volume(int(INITIAL[VOLUME]))
        saved = self._load_saved()
        if saved:
            log.info("%s: applying the last command again: %s", self.id, saved)
            self.apply(saved)
        self.transport.subscribe(f"{self.base}/{SET}", self._on_message)
        self.transport.subscribe(f"{self.base}/{GET}", self._on_message)
        self.transport.add_connection_listener(self._on_connection)
        if self.own_availability:
            await self._send([availability(self.base, True)], force=True)

    async def stop(self) -> None:
        if self.own_availability:
            with contextlib.suppress(TransportUnavailable):
                await self._send([availability(self.base, False)], force=True)
        await self._tasks.stop()
        await self.player.close()

    # --- the convention ----------------------------------------------------------------------

    def state(self) -> dict[str, StateValue]:
        p = self.player
        playback = p.playback if self.power else "stopped"
        return {POWER: self.power, PLAYBACK: playback, MEDIA: p.media, LOOP: p.loop_list,
                VOLUME: p.volume}

    def state_message(self) -> Message:
        error = self.refused or (self.player.error if self.player.wanted == "playing" else "")
        return encode_state(self.base, self.state(), position=self.player.position(),
                            error=error)

    def apply(self, fields: Mapping[str, StateValue]) -> None:
        """A validated command, in the convention's order: power, media, loop, volume,
        playback."""
        p = self.player
        self.refused = ""
        if fields.get(POWER) is False:
            self.power = False
            p.stop()
        elif fields.get(POWER) is True:
            self.power = True
        if MEDIA in fields and fields[MEDIA] != p.media:
            p.set_media(str(fields[MEDIA]))
        if LOOP in fields:
            p.set_loop(bool(fields[LOOP]))
        if VOLUME in fields:
            p.set_volume(int(fields[VOLUME]))
        wanted = fields.get(PLAYBACK)
        if wanted in ("playing", "paused"):
            self.power = True  # asking to play switches the player on
        if wanted == "playing" and p.wanted != "playing":
            p.play()
        elif wanted == "paused":
            p.pause()
        elif wanted == "stopped":
            p.stop()
        self._save()

    def _on_message(self, topic: str, payload: bytes, retained: bool) -> None:
        if topic == f"{self.base}/{SET}" and retained:  # left on the broker: not a command
            log.warning("%s: ignored a retained command on %s", self.id, topic)
        elif topic == f"{self.base}/{SET}":
            try:
                fields = decode_command(topic, payload)
            except DecodeError as exc:  # refused whole: nothing changes, the state says why
                self.refused = f"refused: {exc.reason}"
                log.warning("%s: %s", self.id, self.refused)
            else:
                self.apply(fields)
        self._tasks.spawn(self._send([self.state_message()], force=True), "report")

    def _on_connection(self, up: bool) -> None:
        if up:  # after "online" (the transport's status topic): the full state
            self._tasks.spawn(self._send([self.state_message()], force=True), "report")

    def _on_player(self, event: PlayerEvent) -> None:
        if self.listener is not None and event.kind != "changed":
            self.listener(self.id, event)
        if not self._report_pending:  # a short clip looping can fire many events at once
            self._report_pending = True
            self._tasks.spawn(self._report(), "report")

    async def _report(self) -> None:
        self._report_pending = False
        await self._send([self.state_message()])

    async def _send(self, messages: list[Message], *, force: bool = False) -> None:
        for m in messages:
            if m.topic.endswith("/state"):
                # Position alone changing does not publish (the convention): compare without it.
                key = _without_position(m.payload)
                if not force and key == self._last_sent:
                    continue
                self._last_sent = key
            try:
                await self.transport.publish(m.topic, m.payload, retain=m.retain,
                                             timeout=PUBLISH_TIMEOUT_S)
            except TransportUnavailable as exc:  # it plays on; the next connection reports
                log.debug("%s: state not sent: %s", self.id, exc)

    # --- the last command, across restarts ------------------------------------------------------

    def _save(self) -> None:
        if self.state_file is None:
            return
        wanted = {**self.state(), PLAYBACK: self.player.wanted}
        tmp = self.state_file.with_suffix(".tmp")
        try:
            self.state_file.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps(wanted, ensure_ascii=False))
            os.replace(tmp, self.state_file)  # never a half-written file after a power cut
        except OSError as exc:
            log.warning("%s: cannot keep the last command in %s: %s", self.id,
                        self.state_file, exc)

    def _load_saved(self) -> dict[str, StateValue]:
        if self.state_file is None or not self.state_file.exists():
            return {}
        try:
            data = json.loads(self.state_file.read_text())
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            return {k: check_field(k, v) for k, v in data.items() if k in INITIAL}
        except (OSError, ValueError) as exc:  # a damaged file: start fresh, say so
            log.warning("%s: ignoring %s: %s", self.id, self.state_file, exc)
            return {}


def _without_position(payload: bytes) -> bytes:
    try:
        body = json.loads(payload)
    except ValueError:
        return payload
    body.pop("position", None)
    return json.dumps(body, sort_keys=True).encode()
