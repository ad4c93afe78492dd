"""The vocabulary every layer shares: device kinds, state attributes, wire messages.

A device's state is a flat mapping of well-known attribute names to plain values. Scenes
speak only this vocabulary ("model_area_lights: power on"); each convention module knows
how one vendor puts these attributes on the wire and reads them back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Kind = Literal["light", "switch", "climate", "media", "intercom", "button", "sensor"]
KINDS: tuple[Kind, ...] = (
    "light", "switch", "climate", "media", "intercom", "button", "sensor")

StateValue = bool | int | float | str
State = Mapping[str, StateValue]

# Attribute names and their value types. Units are fixed here so that conventions convert
# at the edge (Zigbee2MQTT's 0-254 brightness becomes 0-100 on the way in).
POWER = "power"  # bool
BRIGHTNESS = "brightness"  # int, 0-100 percent
MODE = "mode"  # str, one of CLIMATE_MODES
SETPOINT = "setpoint"  # float, degrees Celsius
FAN = "fan"  # str, one of FAN_SPEEDS
PLAYBACK = "playback"  # str, one of PLAYBACK_STATES
MEDIA = "media"  # str, what a media player plays (a file, folder, playlist or URL)
LOOP = "loop"  # bool
VOLUME = "volume"  # int, 0-100 percent
ANNOUNCED = "announced"  # str, id of the last announcement an intercom has finished
ANNOUNCE_FAILED = "failed"  # str, id of the last announcement an intercom could not play
ERROR = "error"  # str, why a media player is not doing what it was asked ("" when fine); reported
# What a sensor reads (reported only, never commanded). Zigbee2MQTT's exposes of the same names.
TEMPERATURE = "temperature"  # float, degrees Celsius
HUMIDITY = "humidity"  # float, 0-100 percent relative humidity
RAIN = "rain"  # bool, precipitation on the sensor (a heated rain sensor melts snow: snow too)
WATER_LEAK = "water_leak"  # bool
OCCUPANCY = "occupancy"  # bool, someone is there
# Each reading and the type of its value: a condition compares a bool only for (in)equality.
READINGS: dict[str, type[bool] | type[float]] = {
    TEMPERATURE: float, HUMIDITY: float, RAIN: bool, WATER_LEAK: bool, OCCUPANCY: bool,
}

CLIMATE_MODES = ("off", "cool", "heat", "auto", "dry", "fan_only")
FAN_SPEEDS = ("auto", "low", "medium", "high")
PLAYBACK_STATES = ("playing", "paused", "stopped")

# Button actions as vipctl names them, whatever the vendor calls them.
BUTTON_ACTIONS = ("single", "double", "hold")


@dataclass(frozen=True, slots=True)
class Message:
    """One MQTT publication, topic without any site-wide prefix."""

    topic: str
    payload: bytes
    retain: bool = False


@dataclass(frozen=True, slots=True)
class Announcement:
    """A text to be spoken or shown on the staff intercom.

    `id` is unique per announcement; the gateway echoes it back once the announcement has
    been played, which is how vipctl knows it was heard and not only queued.
    """

    id: str
    text: str
    priority: int = 5  # 0 lowest, 9 highest
    lang: str = "zh"


@dataclass(frozen=True, slots=True)
class CommandResult:
    """How a command (or an announcement) to one device ended."""

    device_id: str
    desired: dict[str, Any]
    ok: bool
    attempts: int
    elapsed: float  # seconds from the first send to confirmation or giving up
    assumed: bool = False  # the device cannot report; trusted, not confirmed
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Update:
    """What one incoming message said about a device. Empty fields mean "not mentioned"."""

    state: Mapping[str, StateValue] = field(default_factory=dict)
    available: bool | None = None
    event: str | None = None  # a button action, one of BUTTON_ACTIONS


def matches(reported: State, wanted: State) -> bool:
    """True when every wanted attribute is reported with the same value.

    Numbers compare with a small tolerance: a setpoint of 24 reported as 24.0 is a match.
    """
    for key, want in wanted.items():
        if key not in reported:
            return False
        have = reported[key]
        if isinstance(want, bool) or isinstance(have, bool):
            if have is not want:
                return False
        elif isinstance(want, int | float) and isinstance(have, int | float):
            if abs(float(have) - float(want)) > 0.05:
                return False
        elif have != want:
            return False
    return True


def prefixed(prefix: str, topic: str) -> str:
    """The topic on the wire, under an optional namespace (a per-test or per-site prefix)."""
    return f"{prefix}/{topic}" if prefix else topic


def unprefixed(prefix: str, topic: str) -> str | None:
    """The topic without the namespace, or None if it lies outside it."""
    if not prefix:
        return topic
    head = prefix + "/"
    return topic[len(head) :] if topic.startswith(head) else None
