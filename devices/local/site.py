"""The local players and speakers of a site: what the daemon plays on its own box.

Each device configured with a `local:` block gets an in-process loopback of its own, with the
player or speaker on one side and the registry's Device (the vipctl-media or vipctl-intercom
codec) on the other: the controller drives it exactly as it drives a remote agent.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from devices.local.config import LOCAL_TOPIC, LocalBinding
from devices.local.loopback import LoopbackTransport
from devices.local.player_device import PlayerDevice, PlayerListener
from devices.local.speaker import SpeakerGateway
from devices.transports.base import Transport

log = logging.getLogger(__name__)


class _Spec(Protocol):
    """The part of a device's configuration this needs (devices.config.DeviceConfig)."""

    @property
    def local(self) -> LocalBinding | None: ...


def local_devices(specs: Mapping[str, _Spec]) -> dict[str, LocalBinding]:
    return {device_id: spec.local for device_id, spec in specs.items()
            if spec.local is not None}


class LocalSite:
    """Build with the site's devices; `transports` goes to the registry; start(), stop()."""

    def __init__(self, specs: Mapping[str, _Spec], *, relay_transport: Transport | None,
                 root: Path | None = None, listener: PlayerListener | None = None) -> None:
        """`relay_transport`: the daemon's MQTT connection, for PTT relays. `root`: where
        relative media are when a player names no media_root (default: the working folder)."""
        self.transports: dict[str, LoopbackTransport] = {}
        self.players: dict[str, PlayerDevice] = {}
        self.speakers: dict[str, SpeakerGateway] = {}
        self._started: list[PlayerDevice | SpeakerGateway] = []
        bindings = local_devices(specs)
        if not bindings:
            return
        # Imported here: a site without local devices runs without libVLC installed.
        from devices.local.build import build_player, build_speaker

        for device_id, binding in bindings.items():
            bus = LoopbackTransport(f"local:{device_id}")
            self.transports[device_id] = bus
            if binding.player is not None:
                self.players[device_id] = build_player(
                    device_id, binding.player, base=LOCAL_TOPIC, transport=bus,
                    root=root or Path.cwd(), own_availability=True, listener=listener)
            elif binding.speaker is not None:
                self.speakers[device_id] = build_speaker(
                    device_id, binding.speaker, base=LOCAL_TOPIC, transport=bus,
                    relay_transport=relay_transport, own_availability=True)

    async def start(self) -> None:
        for device_id, bus in self.transports.items():
            bus.connect()
            device = self.players.get(device_id) or self.speakers[device_id]
            await device.start()
            self._started.append(device)
        if self._started:
            log.info("local devices: %s", ", ".join(self.transports))

    async def stop(self) -> None:
        """Stop in reverse order of start. Idempotent."""
        while self._started:
            device = self._started.pop()
            try:
                await device.stop()
            except Exception:  # one stuck player must not keep the others running
                log.exception("%s did not stop cleanly", device.id)
        for bus in self.transports.values():
            bus.disconnect()
