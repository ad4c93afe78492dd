"""What a device can do, whatever its vendor: small interfaces the device kinds implement.

In the manner of python-kasa's `kasa/interfaces/`: a scene says "model_area_lights: power
on", a capability says which attributes a device takes (`Switchable`: power; `Dimmable`:
power and brightness…) and which extra verbs it has (an `Intercom` can `announce`, and
nothing else can). The controller asks the registry for a device *as* a capability
(`registry.get("staff_intercom", Intercom)`) and never looks at the vendor's convention; the
scene's targets are checked against the capabilities when it is loaded.

Which kind has which capability: `KIND_CAPABILITIES`; the classes that implement them:
devices/kinds.py.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

from devices.model import (
    BRIGHTNESS,
    ERROR,
    FAN,
    LOOP,
    MEDIA,
    MODE,
    PLAYBACK,
    POWER,
    READINGS,
    SETPOINT,
    VOLUME,
    Announcement,
    CommandResult,
    Kind,
    State,
    StateValue,
)


class Capability(ABC):
    """One thing a device can do. `attributes`: the state it may be commanded with."""

    capability: ClassVar[str]  # for messages: "a device that can be switched"
    attributes: ClassVar[frozenset[str]] = frozenset()


class Settable(Capability):
    """A device whose state vipctl sets, and then waits to see reported (or, for a device
    that cannot report, trusts)."""

    capability = "settable"

    @abstractmethod
    async def command(self, desired: State) -> CommandResult:
        """Bring the device to `desired` and wait for it to say so."""


class Switchable(Settable):
    capability = "switchable"
    attributes = frozenset({POWER})


class Dimmable(Switchable):
    capability = "dimmable"
    attributes = Switchable.attributes | {BRIGHTNESS}


class Climate(Settable):
    """An air conditioner: on/off, mode, setpoint (°C) and fan speed."""

    capability = "a climate unit"
    attributes = frozenset({POWER, MODE, SETPOINT, FAN})


class MediaPlayer(Settable):
    """Music or video: what plays, whether it loops, the volume. It reports why it cannot
    play (`error`) and keeps trying by itself."""

    capability = "a media player"
    attributes = frozenset({POWER, PLAYBACK, MEDIA, LOOP, VOLUME})

    state: dict[str, StateValue]  # the last report (devices.device.Device keeps it)

    @property
    def error(self) -> str:
        """Why it is not playing as asked, "" when it is fine."""
        return str(self.state.get(ERROR) or "")


class Intercom(Capability):
    """The staff intercom or PA: says announcements, one at a time, and reports each one
    played (not only received)."""

    capability = "an intercom"

    @abstractmethod
    async def announce(self, announcement: Announcement) -> CommandResult:
        """Say `announcement`; confirmed once the intercom reports it played."""


class Sensor(Capability):
    """A sensor: it reports readings (temperature, rain …) and takes no commands. Which of
    READINGS a given sensor reads is its site entry's `measures:`."""

    capability = "a sensor"
    readings: ClassVar[frozenset[str]] = frozenset(READINGS)

    state: dict[str, StateValue]  # the last report (devices.device.Device keeps it)

    def reading(self, name: str) -> StateValue | None:
        """The last reported value of `name`, None if it never came."""
        return self.state.get(name)


class Button(Capability):
    """A button that reports presses (single, double, hold); it takes no commands."""

    capability = "a button"


KIND_CAPABILITIES: dict[Kind, type[Capability]] = {
    "light": Dimmable,
    "switch": Switchable,
    "climate": Climate,
    "media": MediaPlayer,
    "intercom": Intercom,
    "button": Button,
    "sensor": Sensor,
}


def attributes_of(kind: Kind) -> frozenset[str]:
    """The attributes a device of `kind` may be commanded with."""
    return KIND_CAPABILITIES[kind].attributes


def can(kind: Kind, capability: type[Capability]) -> bool:
    """Whether every device of `kind` has `capability` (a light is switchable too)."""
    return issubclass(KIND_CAPABILITIES[kind], capability)
