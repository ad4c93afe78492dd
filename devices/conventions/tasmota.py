"""Tasmota: cmnd/<topic>/<Command>, answers on stat/<topic>/RESULT and stat/<topic>/POWER.

Sources (Tasmota docs, https://tasmota.github.io/docs/): "MQTT" (command flow, empty payload
is a query, stat/ and tele/ prefixes), "Commands" (Power, Dimmer), "Lights" (Dimmer>0 powers
a light on, Dimmer 0 powers it off, unless SetOption20), "Tasmota-IR" (IRHVAC fields and
values, IrReceived). Not supported: SetOption4 (replies on stat/<topic>/<COMMAND> instead of
RESULT), custom FullTopic, custom StateText.

Climate is an air conditioner behind an IR blaster (tasmota-ir). Limits, on purpose:
- The blaster cannot read the air conditioner back. Its echo of the IRHVAC it sent
  (stat/<topic>/RESULT {"IRHVAC": {...}}) proves the command was *sent*, not that the unit
  obeyed (out of range, blocked, unplugged). vipctl treats the echo as the confirmation.
- An IRHVAC always carries the full state: Tasmota resets omitted fields to defaults. The
  codec therefore keeps the last known full state (from echoes and from the remote control
  heard by the blaster's receiver) and merges `desired` over it in encode(). Until anything
  was heard, IRremoteESP8266's defaults apply (off, 25 °C, fan auto).
"""

from __future__ import annotations

import json
from typing import Any, ClassVar, Literal

from devices.capabilities import attributes_of
from devices.conventions.base import (
    Codec,
    ConventionOptions,
    TopicPart,
    WireAddress,
    is_finite_number,
)
from devices.conventions.tasmota_sensor import STATUS_KEY, STATUS_REPLY, STATUS_SENSORS, readings
from devices.errors import DecodeError, UnsupportedCommand
from devices.model import (
    BRIGHTNESS,
    CLIMATE_MODES,
    FAN,
    FAN_SPEEDS,
    MODE,
    POWER,
    SETPOINT,
    Kind,
    Message,
    State,
    StateValue,
    Update,
)


class TasmotaOptions(ConventionOptions):
    convention: Literal["tasmota"]
    topic: TopicPart  # the device's %topic%
    relay: int | None = None  # POWER<n> on multi-relay devices; None means plain POWER
    irhvac_vendor: str | None = None  # climate behind an IR blaster: IRHVAC "Vendor"
    irhvac_model: str | None = None  # IRHVAC "Model", for vendors with protocol variants
    # Sensors: the object of tele/<topic>/SENSOR to read (AM2301, DS18B20 …; None: any with a
    # Temperature or Humidity), and the switch input a rain sensor's contact closes (Switch1).
    sensor: str | None = None
    rain_switch: str | None = None

    def wire_address(self) -> WireAddress:
        relay = "" if self.relay is None else f" (relay {self.relay})"
        return WireAddress("topic", self.topic + relay, (self.convention, self.topic, self.relay))


# Tasmota's own MQTT buffer is about 1.2 kB (MAX_PACKET_SIZE 1200, Status 6); anything far
# larger on a Tasmota topic is not from Tasmota and is refused before parsing.
MAX_PAYLOAD_BYTES = 16 * 1024

# Tasmota's availability (LWT) payloads, published retained on tele/<topic>/LWT.
ONLINE = "Online"
OFFLINE = "Offline"

# Until the blaster has echoed or heard anything: IRremoteESP8266's stdAc::state_t defaults.
CLIMATE_DEFAULTS: dict[str, StateValue] = {POWER: False, MODE: "off", SETPOINT: 25.0, FAN: "auto"}
# Plausible setpoints in °C, wide on purpose (frost guards go down to ~8 °C): only garbage
# falls outside. What a given unit accepts is its own business.
SETPOINT_RANGE = (0.0, 50.0)
# Mode sent when asked to power on while the last known mode is "off" (Mode Off means off).
DEFAULT_ON_MODE = "auto"

# vipctl vocabulary -> IRHVAC values as spelled in the Tasmota-IR docs.
MODE_TO_IR = {"off": "Off", "cool": "Cool", "heat": "Heat", "auto": "Auto", "dry": "Dry",
              "fan_only": "Fan"}
FAN_TO_IR = {"auto": "Auto", "low": "Low", "medium": "Medium", "high": "High"}
# IRHVAC values (any case, every synonym IRremoteESP8266's IRac::strTo* accepts) -> vocabulary.
# Fan speeds beyond our four collapse to the nearest: Min -> low, Med-High and Max -> high.
IR_TO_MODE = {
    **dict.fromkeys(("off", "stop"), "off"), **dict.fromkeys(("auto", "automatic"), "auto"),
    **dict.fromkeys(("cool", "cooling"), "cool"), **dict.fromkeys(("heat", "heating"), "heat"),
    **dict.fromkeys(("dry", "drying", "dehumidify"), "dry"),
    **dict.fromkeys(("fan", "fan_only", "fanonly", "fan only"), "fan_only"),
}
IR_TO_FAN = {
    **dict.fromkeys(("auto", "automatic"), "auto"),
    **dict.fromkeys(("min", "minimum", "lowest", "low", "lo"), "low"),
    **dict.fromkeys(("med", "medium", "mid"), "medium"),
    **dict.fromkeys(("high", "hi", "med-high", "max", "maximum", "highest"), "high"),
}
# Numeric FanSpeed 1-6 as Tasmota maps it (IrHvacFanSpeed: Min, Low, Medium, MedHigh, High, Max).
IR_FAN_NUMBERS = {1: "low", 2: "low", 3: "medium", 4: "high", 5: "high", 6: "high"}
IR_TRUE = frozenset({"on", "yes", "true", "1"})
IR_FALSE = frozenset({"off", "no", "false", "0"})
# Settings worth carrying from the last known state into the next full IRHVAC (the remote may
# have set them); read-only or per-message fields (Command, iFeel, SensorTemp, Clock) are not.
IR_CARRIED = ("Model", "SwingV", "SwingH", "Quiet", "Turbo", "Econo", "Light", "Filter",
              "Clean", "Beep", "Sleep")


# --- pure helpers, shared with simulators/tasmota.py ---------------------------------------


def dumps(obj: object) -> bytes:
    """JSON the way Tasmota writes it: compact, no spaces."""
    return json.dumps(obj, separators=(",", ":")).encode()


def payload_text(topic: str, payload: bytes) -> str:
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise DecodeError(topic, f"payload of {len(payload)} bytes is not a Tasmota message")
    try:
        return payload.decode("utf-8").strip()
    except UnicodeDecodeError as exc:
        raise DecodeError(topic, "payload is not UTF-8", payload[:64]) from exc


def load_object(topic: str, payload: bytes) -> dict[str, Any]:
    text = payload_text(topic, payload)
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise DecodeError(topic, "payload is not JSON", payload[:64]) from exc
    if not isinstance(obj, dict):
        raise DecodeError(topic, f"expected a JSON object, got {type(obj).__name__}", payload[:64])
    return obj


def parse_on_off(topic: str, value: object) -> bool:
    """A POWER state text ("ON"/"OFF" by default; Tasmota's own output, any case)."""
    if isinstance(value, str) and value.lower() in ("on", "off"):
        return value.lower() == "on"
    raise DecodeError(topic, f"power state {value!r} is neither ON nor OFF")


def parse_ir_bool(value: object) -> bool | None:
    """An IRHVAC boolean as IRac::strToBool reads it; None when unreadable."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, str):
        low = value.lower()
        return True if low in IR_TRUE else False if low in IR_FALSE else None
    return None


def parse_ir_mode(value: object) -> str | None:
    return IR_TO_MODE.get(value.lower()) if isinstance(value, str) else None


def parse_ir_fan(value: object) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return IR_FAN_NUMBERS.get(value)
    return IR_TO_FAN.get(value.lower()) if isinstance(value, str) else None


def parse_ir_temp(value: object, celsius: bool = True) -> float | None:
    """A temperature in °C, or None for anything no air conditioner could be set to."""
    if not is_finite_number(value):
        return None
    temp = float(value) if celsius else round((float(value) - 32) * 5 / 9, 1)
    return temp if SETPOINT_RANGE[0] <= temp <= SETPOINT_RANGE[1] else None


def temp_json(value: float) -> int | float:
    """Temp as Tasmota prints it: no decimals for whole degrees."""
    return int(value) if float(value).is_integer() else round(float(value), 1)


def irhvac_core(state: State) -> dict[str, Any]:
    """The IRHVAC fields vipctl drives, from vocabulary state (power, mode, setpoint, fan)."""
    return {
        "Power": "On" if state[POWER] and state[MODE] != "off" else "Off",
        "Mode": MODE_TO_IR[str(state[MODE])],
        "Celsius": "On",
        "Temp": temp_json(float(state[SETPOINT])),
        "FanSpeed": FAN_TO_IR[str(state[FAN])],
    }


def irhvac_state(topic: str, ir: dict[str, Any]) -> dict[str, StateValue]:
    """Vocabulary state from an IRHVAC object (echo or received); DecodeError if unreadable."""
    state: dict[str, StateValue] = {}
    readers = (("Power", POWER, parse_ir_bool), ("Mode", MODE, parse_ir_mode),
               ("FanSpeed", FAN, parse_ir_fan))
    for field, attr, read in readers:
        if field in ir:
            value = read(ir[field])
            if value is None:
                raise DecodeError(topic, f"IRHVAC {field} {ir[field]!r} is not understood")
            state[attr] = value
    if "Temp" in ir:
        celsius = parse_ir_bool(ir.get("Celsius", "On"))
        temp = parse_ir_temp(ir["Temp"], celsius is not False)
        if temp is None:
            raise DecodeError(topic, f"IRHVAC Temp {ir['Temp']!r} is not a number")
        state[SETPOINT] = temp
    if state.get(MODE) == "off":
        state[POWER] = False  # Tasmota reports Mode Off as Power Off too
    return state


# --- the controller's side --------------------------------------------------------------


class TasmotaCodec(Codec[TasmotaOptions]):
    """One Tasmota device: a relay (switch), a dimmable light, or an AC behind an IR blaster."""

    convention: ClassVar[str] = "tasmota"
    kinds: ClassVar[frozenset[Kind]] = frozenset({"light", "switch", "climate", "sensor"})

    def __init__(self, device_id: str, kind: Kind, options: TasmotaOptions) -> None:
        super().__init__(device_id, kind, options)
        if kind not in self.kinds:
            raise ValueError(f"{device_id}: tasmota cannot drive a {kind}")
        if kind == "climate" and not options.irhvac_vendor:
            raise ValueError(f"{device_id}: a tasmota climate needs irhvac_vendor")
        index = options.relay or 1
        # Single-relay devices answer plain POWER (POWER1 with SetOption26); others POWER<n>.
        self._power_keys = frozenset({f"POWER{index}"} | ({"POWER"} if index == 1 else set()))
        self._power_command = f"POWER{options.relay}" if options.relay else "POWER"
        self._climate: dict[str, StateValue] = dict(CLIMATE_DEFAULTS)
        self._ir_extras: dict[str, Any] = {}

    @property
    def _vendor(self) -> str:
        return (self.options.irhvac_vendor or "").upper()

    def _topic(self, prefix: str, command: str) -> str:
        return f"{prefix}/{self.options.topic}/{command}"

    def subscriptions(self) -> list[str]:
        if self.kind == "sensor":
            return [self._topic("tele", "LWT"), self._topic("tele", "SENSOR"),
                    self._topic("stat", STATUS_REPLY)]
        topics = [self._topic("stat", "RESULT"), self._topic("tele", "LWT")]
        if self.kind == "climate":
            return [*topics, self._topic("tele", "RESULT")]
        powers = [self._topic("stat", key) for key in sorted(self._power_keys)]
        return [*topics, self._topic("tele", "STATE"), *powers]

    def query(self) -> list[Message]:
        if self.kind == "climate":
            return []  # an IR blaster cannot ask the air conditioner anything
        if self.kind == "sensor":
            return [Message(self._topic("cmnd", "STATUS"), STATUS_SENSORS.encode())]
        # An empty payload is a query; STATE also reports Dimmer, POWER only the relay.
        command = "STATE" if self.kind == "light" else self._power_command
        return [Message(self._topic("cmnd", command), b"")]

    def encode(self, desired: State) -> list[Message]:
        self._check_attributes(desired)
        if self.kind == "climate":
            return [Message(self._topic("cmnd", "IRHVAC"), dumps(self._irhvac(desired)))]
        messages: list[Message] = []
        if BRIGHTNESS in desired:
            dimmer = self._plan_light(desired)[BRIGHTNESS]
            messages.append(Message(self._topic("cmnd", "Dimmer"), str(dimmer).encode()))
        if POWER in desired:
            text = "ON" if self._power(desired) else "OFF"
            messages.append(Message(self._topic("cmnd", self._power_command), text.encode()))
        return messages

    def confirmation(self, desired: State) -> State:
        self._check_attributes(desired)
        if self.kind == "climate":
            plan = self._plan_climate(desired)
            return {key: plan[key] for key in {*desired, POWER, MODE}}
        if BRIGHTNESS in desired:
            return self._plan_light(desired)
        return {POWER: self._power(desired)} if POWER in desired else {}

    def decode(self, topic: str, payload: bytes) -> Update | None:
        if topic == self._topic("tele", "LWT"):
            text = payload_text(topic, payload)
            if text.lower() not in (ONLINE.lower(), OFFLINE.lower()):
                raise DecodeError(topic, f"LWT {text[:40]!r} is neither Online nor Offline")
            return Update(available=text.lower() == ONLINE.lower())
        if self.kind == "climate":
            return self._decode_ir(topic, payload)
        if self.kind == "sensor":
            return self._decode_sensor(topic, payload)
        if topic in {self._topic("stat", key) for key in self._power_keys}:
            return Update(state={POWER: parse_on_off(topic, payload_text(topic, payload))})
        if topic not in (self._topic("stat", "RESULT"), self._topic("tele", "STATE")):
            return None
        obj = load_object(topic, payload)
        state: dict[str, StateValue] = {}
        for key in self._power_keys & obj.keys():
            state[POWER] = parse_on_off(topic, obj[key])
        if self.kind == "light" and "Dimmer" in obj:
            dimmer = obj["Dimmer"]
            if isinstance(dimmer, bool) or not isinstance(dimmer, int) or not 0 <= dimmer <= 100:
                raise DecodeError(topic, f"Dimmer {dimmer!r} is not 0-100")
            state[BRIGHTNESS] = dimmer
        return Update(state=state) if state else None  # RESULT of another command: not ours

    def _decode_sensor(self, topic: str, payload: bytes) -> Update | None:
        if topic == self._topic("stat", STATUS_REPLY):
            body = load_object(topic, payload).get(STATUS_KEY)
            if not isinstance(body, dict):
                raise DecodeError(topic, f"{STATUS_KEY} is not an object")
        elif topic == self._topic("tele", "SENSOR"):
            body = load_object(topic, payload)
        else:
            return None
        state = readings(topic, body, sensor=self.options.sensor,
                         rain_switch=self.options.rain_switch)
        return Update(state=state) if state else None

    # --- light and switch ------------------------------------------------------------------

    def _check_attributes(self, desired: State) -> None:
        for key in desired:
            if key not in attributes_of(self.kind):
                raise UnsupportedCommand(self.device_id, key, f"a tasmota {self.kind} has none")

    def _power(self, desired: State) -> bool:
        value = desired[POWER]
        if not isinstance(value, bool):
            raise UnsupportedCommand(self.device_id, POWER, f"{value!r} is not a bool")
        return value

    def _plan_light(self, desired: State) -> dict[str, StateValue]:
        """What the light reports after Dimmer (and POWER): Dimmer>0 switches it on, 0 off."""
        value = desired[BRIGHTNESS]
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100:
            raise UnsupportedCommand(self.device_id, BRIGHTNESS, f"{value!r} is not 0-100")
        dimmer = round(value)
        power = self._power(desired) if POWER in desired else dimmer > 0
        if power and dimmer == 0:
            raise UnsupportedCommand(self.device_id, BRIGHTNESS, "Dimmer 0 switches Tasmota off")
        return {BRIGHTNESS: dimmer, POWER: power}

    # --- climate (IR blaster) --------------------------------------------------------------

    def _plan_climate(self, desired: State) -> dict[str, StateValue]:
        """The full state the next IRHVAC will carry: `desired` over the last known state."""
        plan = dict(self._climate)
        if POWER in desired:
            plan[POWER] = self._power(desired)
        if MODE in desired:
            mode = desired[MODE]
            if mode not in CLIMATE_MODES:
                raise UnsupportedCommand(self.device_id, MODE, f"{mode!r} is not a mode")
            if mode == "off" and desired.get(POWER) is True:
                raise UnsupportedCommand(self.device_id, MODE, "mode off means power off")
            plan[MODE] = mode
            if POWER not in desired:
                plan[POWER] = mode != "off"  # choosing a mode means running in it
        if SETPOINT in desired:
            temp = parse_ir_temp(desired[SETPOINT])
            if temp is None:
                raise UnsupportedCommand(self.device_id, SETPOINT, "not a number")
            plan[SETPOINT] = temp
        if FAN in desired:
            if desired[FAN] not in FAN_SPEEDS:
                raise UnsupportedCommand(self.device_id, FAN, f"{desired[FAN]!r} is not a speed")
            plan[FAN] = desired[FAN]
        if plan[POWER] and plan[MODE] == "off":
            plan[MODE] = DEFAULT_ON_MODE
        if plan[MODE] == "off":
            plan[POWER] = False
        return plan

    def _irhvac(self, desired: State) -> dict[str, Any]:
        carried = {k: v for k, v in self._ir_extras.items() if k in IR_CARRIED}
        if self.options.irhvac_model:
            carried["Model"] = self.options.irhvac_model
        return {"Vendor": self._vendor, **carried, **irhvac_core(self._plan_climate(desired))}

    def _decode_ir(self, topic: str, payload: bytes) -> Update | None:
        if topic == self._topic("stat", "RESULT"):
            ir = load_object(topic, payload).get("IRHVAC")
            if isinstance(ir, str):  # Tasmota refused: "Wrong Vendor (...)", "Invalid JSON"
                raise DecodeError(topic, f"IRHVAC refused: {ir[:200]}")
        elif topic == self._topic("tele", "RESULT"):
            received = load_object(topic, payload).get("IrReceived")
            if received is not None and not isinstance(received, dict):
                raise DecodeError(topic, "IrReceived is not an object")
            ir = received.get("IRHVAC") if received else None  # TV remotes have no IRHVAC
        else:
            return None
        if ir is None:
            return None
        if not isinstance(ir, dict):
            raise DecodeError(topic, "IRHVAC is not an object")
        if str(ir.get("Vendor", "")).upper() != self._vendor:
            return None  # another air conditioner's remote, or a command for another vendor
        if str(ir.get("Command", "Control")).lower() != "control":
            return None  # timer, config or iFeel reports carry no mode/temperature
        state = irhvac_state(topic, ir)
        self._climate.update(state)
        self._ir_extras = {k: v for k, v in ir.items() if k in IR_CARRIED and v != -1}
        return Update(state=state)


CODEC = TasmotaCodec
