"""The device kinds of a site, each a Device (devices/device.py) with its capabilities
(devices/capabilities.py): what the registry builds from a site file's `kind:`."""

from __future__ import annotations

from typing import Any

from devices.capabilities import (
    Button,
    Climate,
    Dimmable,
    Intercom,
    MediaPlayer,
    Sensor,
    Switchable,
)
from devices.conventions.base import Codec, IntercomCodec
from devices.device import Device
from devices.model import Announcement, CommandResult, Kind

# Speaking takes time: an announcement's confirmation waits this much per character on top
# of the command timeout (Mandarin TTS reads about 4-5 characters per second).
SPEECH_S_PER_CHAR = 0.3


class Light(Device, Dimmable):
    pass


class Switch(Device, Switchable):
    pass


class ClimateUnit(Device, Climate):
    pass


class MediaDevice(Device, MediaPlayer):
    pass


class ButtonDevice(Device, Button):
    pass


class SensorDevice(Device, Sensor):
    pass


class IntercomDevice(Device, Intercom):
    """An intercom gateway; its convention's codec says how an announcement is sent and
    which report confirms it."""

    def __init__(self, device_id: str, *, codec: Codec[Any], **kwargs: Any) -> None:
        if not isinstance(codec, IntercomCodec):
            raise TypeError(f"{device_id}: {codec.convention} is not an intercom convention")
        super().__init__(device_id, codec=codec, **kwargs)
        self._speech: IntercomCodec[Any] = codec

    async def announce(self, announcement: Announcement) -> CommandResult:
        messages = self._speech.announce(announcement)
        timeout = self.policy.confirm_timeout + SPEECH_S_PER_CHAR * len(announcement.text)
        return await self._run_confirmed(
            {"announce": announcement.text, "id": announcement.id}, messages,
            self._speech.announcement_confirmation(announcement), timeout,
            what="announcement", fails=self._speech.announcement_failure(announcement),
        )


DEVICE_CLASSES: dict[Kind, type[Device]] = {
    "light": Light,
    "switch": Switch,
    "climate": ClimateUnit,
    "media": MediaDevice,
    "intercom": IntercomDevice,
    "button": ButtonDevice,
    "sensor": SensorDevice,
}


def make_device(device_id: str, *, kind: Kind, **kwargs: Any) -> Device:
    """A device of `kind`, with its kind's capabilities (the arguments are Device's)."""
    return DEVICE_CLASSES[kind](device_id, kind=kind, **kwargs)
