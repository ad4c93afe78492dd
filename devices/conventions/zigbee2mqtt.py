"""Zigbee2MQTT: <base>/<name>/set JSON commands, state echo on <base>/<name>.

Sources (zigbee2mqtt.io): guide/usage/mqtt_topics_and_messages (set, get, state echo),
guide/configuration/device-availability (availability payloads), guide/usage/exposes (light
brightness 0-254, climate features and system_mode values), and the device pages of the
buttons named in DEFAULT_ACTIONS; sensors' properties as their device pages expose them
(temperature °C, humidity %, occupancy, water_leak; rain on the eWeLink WS01, `raining` on the
TuYa RB-SRAIN01), read-only and not readable with /get. The device-side helpers at the
bottom are what simulators/zigbee2mqtt.py uses to play Zigbee2MQTT with the same mapping.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, Field

from devices.capabilities import attributes_of
from devices.conventions.base import (
    Codec,
    ConventionOptions,
    TopicPart,
    WireAddress,
    is_finite_number,
)
from devices.errors import DecodeError, UnsupportedCommand
from devices.model import (
    BRIGHTNESS,
    CLIMATE_MODES,
    FAN,
    FAN_SPEEDS,
    MODE,
    POWER,
    READINGS,
    SETPOINT,
    Kind,
    Message,
    State,
    StateValue,
    Update,
)

# Zigbee level-control maximum; the exposes page gives light brightness value_max 254.
BRIGHTNESS_MAX = 254
# Zigbee2MQTT state messages are a few hundred bytes; anything near this is garbage.
MAX_PAYLOAD = 64 * 1024

ButtonAction = Literal["single", "double", "hold"]
# Climate features that carry a setpoint (exposes page, "Climate"); a device has one of the
# heating pair, never both, and cooling-capable ones add occupied_cooling_setpoint.
SetpointProperty = Literal[
    "occupied_heating_setpoint", "current_heating_setpoint", "occupied_cooling_setpoint"
]
PowerOnMode = Literal["cool", "heat", "auto", "dry", "fan_only"]

# Vendor action names seen on common buttons, mapped to vipctl's actions. Names missing here
# (release, triple, brightness_stop, ...) are ignored. Device pages on zigbee2mqtt.io:
# TuYa TS0041: single, double, hold. Aqara WXKG11LM and MiJia WXKG01LM: single, double,
# triple, quadruple, hold, release. SONOFF SNZB-01: single, double, long. IKEA E1812: on,
# off (a double click, since firmware 2.3.x), brightness_move_up (held), brightness_stop.
# Multi-button TuYa (TS0042/TS0044): 1_single, 1_double, 1_hold; some Moes: 1_long.
DEFAULT_ACTIONS: dict[str, ButtonAction] = {
    "single": "single",
    "double": "double",
    "hold": "hold",
    "long": "hold",
    "long_press": "hold",
    "1_single": "single",
    "1_double": "double",
    "1_hold": "hold",
    "1_long": "hold",
    "on": "single",
    "off": "double",
    "brightness_move_up": "hold",
}


def _check_actions(actions: dict[str, ButtonAction]) -> dict[str, ButtonAction]:
    if not actions or any(not name for name in actions):
        raise ValueError("actions must map non-empty vendor action names to single/double/hold")
    return actions


class Zigbee2MqttOptions(ConventionOptions):
    convention: Literal["zigbee2mqtt"]
    name: TopicPart  # the device's friendly_name
    base_topic: TopicPart = "zigbee2mqtt"
    # Thermostats: which exposed property holds the setpoint vipctl drives.
    setpoint_property: SetpointProperty = "occupied_heating_setpoint"
    # Thermostats: whether the device exposes fan_mode (it is then read back with /get).
    fan_mode: bool = False
    # Thermostats: the system_mode for "power on" when no mode is given.
    power_on_mode: PowerOnMode = "auto"
    # Buttons: the vendor's action names and what vipctl calls them.
    actions: Annotated[dict[str, ButtonAction], AfterValidator(_check_actions)] = Field(
        default_factory=lambda: dict(DEFAULT_ACTIONS)
    )

    @property
    def state_topic(self) -> str:
        return f"{self.base_topic}/{self.name}"

    def wire_address(self) -> WireAddress:
        return WireAddress("name", self.state_topic, (self.convention, self.base_topic, self.name))

    @property
    def set_topic(self) -> str:
        return f"{self.state_topic}/set"

    @property
    def get_topic(self) -> str:
        return f"{self.state_topic}/get"

    @property
    def availability_topic(self) -> str:
        return f"{self.state_topic}/availability"

    @property
    def action_topic(self) -> str:
        """1.x only: the action again, as a plain string (removed in 2.0)."""
        return f"{self.state_topic}/action"


def percent_to_level(percent: int) -> int:
    """0-100 % to Zigbee's 0-254, rounded half up so that level_to_percent inverts it."""
    return math.floor(percent * BRIGHTNESS_MAX / 100 + 0.5)


def level_to_percent(level: float) -> int:
    """Zigbee's 0-254 (some devices say 255) to 0-100 %."""
    return min(100, math.floor(level * 100 / BRIGHTNESS_MAX + 0.5))


def load_json(topic: str, payload: bytes) -> Any:
    if len(payload) > MAX_PAYLOAD:
        raise DecodeError(topic, f"payload of {len(payload)} bytes is too large", payload[:64])
    try:
        return json.loads(payload)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise DecodeError(topic, f"not JSON: {exc}", payload[:64]) from None


# Sensor properties as Zigbee2MQTT names them → vipctl's reading (a rain sensor's is `rain`
# or, on TuYa's RB-SRAIN01, `raining`).
SENSOR_PROPERTIES = {**{name: name for name in READINGS}, "raining": "rain"}


def to_wire(kind: Kind, state: State, options: Zigbee2MqttOptions) -> dict[str, object]:
    """vipctl attributes as Zigbee2MQTT properties (a /set body, or a state echo)."""
    out: dict[str, object] = {}
    if kind == "sensor":
        return {name: value for name, value in state.items() if name in READINGS}
    if kind == "climate":
        if POWER in state or MODE in state:
            mode = state.get(MODE, options.power_on_mode)
            out["system_mode"] = "off" if state.get(POWER) is False else mode
        if SETPOINT in state:
            out[options.setpoint_property] = state[SETPOINT]
        if FAN in state:
            out["fan_mode"] = state[FAN]
        return out
    if POWER in state:
        out["state"] = "ON" if state[POWER] else "OFF"
    if BRIGHTNESS in state and kind == "light":
        out["brightness"] = percent_to_level(int(state[BRIGHTNESS]))
    return out


def from_wire(
    kind: Kind, data: Mapping[str, Any], options: Zigbee2MqttOptions, topic: str
) -> dict[str, StateValue]:
    """Zigbee2MQTT properties as vipctl attributes; unknown properties and nulls are skipped.

    Raises DecodeError when a known property has a value of the wrong type.
    """
    if kind == "climate":
        return _climate_from_wire(data, options.setpoint_property, topic)
    if kind == "sensor":
        return _sensor_from_wire(data, topic)
    out: dict[str, StateValue] = {}
    if kind in ("light", "switch") and data.get("state") is not None:
        value = data["state"]
        if not isinstance(value, str) or value.upper() not in ("ON", "OFF"):
            raise _unexpected(topic, data, "state")
        out[POWER] = value.upper() == "ON"
    if kind == "light" and data.get("brightness") is not None:
        level = data["brightness"]
        if not is_finite_number(level) or not 0 <= level <= 255:
            raise _unexpected(topic, data, "brightness")
        out[BRIGHTNESS] = level_to_percent(level)
    return out


def _climate_from_wire(data: Mapping[str, Any], setpoint: str, topic: str,
                       ) -> dict[str, StateValue]:
    out: dict[str, StateValue] = {}
    if data.get("system_mode") is not None:
        mode = data["system_mode"]
        if not isinstance(mode, str):
            raise _unexpected(topic, data, "system_mode")
        out[POWER] = mode != "off"
        if mode in CLIMATE_MODES:  # emergency_heating, sleep, ... have no vipctl name
            out[MODE] = mode
    if data.get(setpoint) is not None:
        if not is_finite_number(data[setpoint]):
            raise _unexpected(topic, data, setpoint)
        out[SETPOINT] = float(data[setpoint])
    if data.get("fan_mode") is not None:
        if not isinstance(data["fan_mode"], str):
            raise _unexpected(topic, data, "fan_mode")
        if data["fan_mode"] in FAN_SPEEDS:  # "on", "smart", "off" have no vipctl name
            out[FAN] = data["fan_mode"]
    return out


def _sensor_from_wire(data: Mapping[str, Any], topic: str) -> dict[str, StateValue]:
    out: dict[str, StateValue] = {}
    for prop, reading in SENSOR_PROPERTIES.items():
        value = data.get(prop)
        if value is None:
            continue
        if READINGS[reading] is bool:
            if not isinstance(value, bool):
                raise _unexpected(topic, data, prop)
            out[reading] = value
        elif is_finite_number(value):
            out[reading] = float(value)
        else:
            raise _unexpected(topic, data, prop)
    return out


def _unexpected(topic: str, data: Mapping[str, Any], prop: str) -> DecodeError:
    return DecodeError(topic, f"{prop}: unexpected value {data[prop]!r}")


# What each commandable attribute accepts (devices/model.py fixes the units).
_VALID: dict[str, Callable[[StateValue], bool]] = {
    POWER: lambda v: isinstance(v, bool),
    BRIGHTNESS: lambda v: isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 100,
    MODE: lambda v: v in CLIMATE_MODES,
    SETPOINT: is_finite_number,
    FAN: lambda v: v in FAN_SPEEDS,
}


def availability_payload(online: bool, *, legacy: bool = False) -> bytes:
    """2.x: {"state":"online"}; 1.x (legacy_availability_payload): plain online/offline."""
    word = "online" if online else "offline"
    return word.encode() if legacy else json.dumps({"state": word}).encode()


def parse_availability(topic: str, payload: bytes) -> bool | None:
    """Both availability forms; None for an empty (cleared) retained message."""
    text = payload.strip()
    if not text:
        return None
    if text in (b"online", b"offline"):
        return text == b"online"
    data = load_json(topic, text)
    word = data.get("state") if isinstance(data, dict) else data
    if word not in ("online", "offline"):
        raise DecodeError(topic, "availability is neither online nor offline", payload[:64])
    return bool(word == "online")


def vendor_action(action: str, options: Zigbee2MqttOptions) -> str:
    """The vendor's name for one of vipctl's actions (the same name if the mapping has it)."""
    if options.actions.get(action) == action:
        return action
    for name, ours in options.actions.items():
        if ours == action:
            return name
    raise ValueError(f"no vendor action maps to {action!r}")


def _event(topic: str, action: object, options: Zigbee2MqttOptions) -> str | None:
    if not isinstance(action, str):
        raise DecodeError(topic, f"action: unexpected value {action!r}")
    return options.actions.get(action)  # "" (the reset after an action) maps to nothing


class Zigbee2MqttCodec(Codec[Zigbee2MqttOptions]):
    """Controller side of one Zigbee2MQTT device."""

    convention: ClassVar[str] = "zigbee2mqtt"
    kinds: ClassVar[frozenset[Kind]] = frozenset(
        {"light", "switch", "climate", "button", "sensor"})

    def __init__(self, device_id: str, kind: Kind, options: Zigbee2MqttOptions) -> None:
        super().__init__(device_id, kind, options)
        # A thermostat's last reported working mode: "power on" resumes it, like a remote.
        self._last_mode: str | None = None

    def subscriptions(self) -> list[str]:
        o = self.options
        topics = [o.state_topic, o.availability_topic]
        return [*topics, o.action_topic] if self.kind == "button" else topics

    def encode(self, desired: State) -> list[Message]:
        self._check(desired)
        body = to_wire(self.kind, self._effective(desired), self.options)
        if not body:
            return []
        return [Message(self.options.set_topic, json.dumps(body).encode())]

    def confirmation(self, desired: State) -> State:
        wanted = self._effective(desired)
        if self.kind == "climate" and MODE in wanted:  # only a working mode is left in
            wanted[POWER] = True
            if MODE not in desired:
                del wanted[MODE]  # resuming the last mode: whichever it is will do
        return wanted

    def query(self) -> list[Message]:
        if self.kind in ("button", "sensor"):
            return []  # they sleep, and their readings cannot be read with /get
        if self.kind == "climate":
            props = ["system_mode", self.options.setpoint_property]
            props += ["fan_mode"] if self.options.fan_mode else []
        else:
            props = ["state", "brightness"] if self.kind == "light" else ["state"]
        # The documented form: {"state": ""} reads state; every listed property is read.
        return [Message(self.options.get_topic, json.dumps(dict.fromkeys(props, "")).encode())]

    def decode(self, topic: str, payload: bytes) -> Update | None:
        o = self.options
        if topic == o.availability_topic:
            return Update(available=parse_availability(topic, payload))
        if topic == o.action_topic and self.kind == "button":
            if len(payload) > MAX_PAYLOAD:
                raise DecodeError(topic, "payload too large", payload[:64])
            try:
                text = payload.decode().strip()
            except UnicodeDecodeError:
                raise DecodeError(topic, "action is not UTF-8", payload[:64]) from None
            return Update(event=_event(topic, text, o))
        if topic != o.state_topic:
            return None
        if not payload.strip():
            return Update()  # a retained state cleared on removal: nothing said
        data = load_json(topic, payload)
        if not isinstance(data, dict):
            raise DecodeError(topic, "state is not a JSON object", payload[:64])
        if self.kind == "button":
            action = data.get("action")
            return Update(event=None if action is None else _event(topic, action, o))
        state = from_wire(self.kind, data, o, topic)
        if state.get(MODE) not in (None, "off"):
            self._last_mode = str(state[MODE])
        return Update(state=state)

    def _check(self, desired: State) -> None:
        allowed = attributes_of(self.kind)
        for attr, value in desired.items():
            if attr not in allowed:
                raise UnsupportedCommand(self.device_id, attr, f"a {self.kind} has no {attr}")
            if not _VALID[attr](value):
                raise UnsupportedCommand(self.device_id, attr, f"bad value {value!r}")
        if FAN in desired and not self.options.fan_mode:
            raise UnsupportedCommand(self.device_id, FAN, "fan_mode is not enabled for it")
        if desired.get(POWER) is True and desired.get(MODE) == "off":
            raise UnsupportedCommand(self.device_id, MODE, "power on with mode off")

    def _effective(self, desired: State) -> dict[str, StateValue]:
        """What can actually be sent: an off light gets no brightness, an off AC no mode."""
        out = dict(desired)
        off = out.get(POWER) is False or out.get(MODE) == "off"
        if off and self.kind == "light":
            out.pop(BRIGHTNESS, None)
        if off and self.kind == "climate":
            out.pop(MODE, None)
            out[POWER] = False
        elif self.kind == "climate" and out.get(POWER) is True and MODE not in out:
            out[MODE] = self._last_mode or self.options.power_on_mode
        return out


CODEC = Zigbee2MqttCodec
