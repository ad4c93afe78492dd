"""Tasmota sensors: the readings in tele/<topic>/SENSOR, and in the answer to `Status 10`.

Sources (Tasmota docs, https://tasmota.github.io/docs/): "AM2301" and the other sensor pages
(tele/%topic%/SENSOR: {"Time": …, "AM2301": {"Temperature": 24.6, "Humidity": 58.2},
"TempUnit": "C"}), "JSON Status Responses" (StatusSNS: the same object, answered on
stat/<topic>/STATUS10 to `cmnd/<topic>/STATUS 10`, which only reads), "Buttons and Switches"
(a dry contact on a switch input reports {"Switch1": "ON"} in the same telemetry: how a rain
sensor's relay output is wired to a Tasmota). Pure helpers, shared with simulators/tasmota.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from devices.conventions.base import is_finite_number
from devices.errors import DecodeError
from devices.model import HUMIDITY, RAIN, TEMPERATURE, State, StateValue

STATUS_SENSORS = "10"  # `Status 10`: the sensors, read without changing anything
STATUS_REPLY = "STATUS10"
STATUS_KEY = "StatusSNS"
# Measurement names inside a sensor's object → vipctl's readings.
MEASUREMENTS = {"Temperature": TEMPERATURE, "Humidity": HUMIDITY}
# The key every temperature/humidity example on the docs' sensor pages uses; a site names its
# own (DS18B20, BME280, SHT3X …) with `sensor:`.
DEFAULT_SENSOR = "AM2301"


def _celsius(value: float, unit: object) -> float:
    return round((value - 32) * 5 / 9, 1) if unit == "F" else value


def readings(topic: str, body: Mapping[str, Any], *, sensor: str | None,
             rain_switch: str | None) -> dict[str, StateValue]:
    """vipctl readings from a SENSOR (or StatusSNS) object. `sensor`: the object to read (None:
    any that has a Temperature or Humidity); `rain_switch`: the switch input the rain sensor
    closes. DecodeError for a measurement that is not a number or a switch not ON/OFF."""
    out: dict[str, StateValue] = {}
    for key, value in body.items():
        if not isinstance(value, dict) or (sensor is not None and key != sensor):
            continue
        for name, reading in MEASUREMENTS.items():
            if name not in value:
                continue
            if not is_finite_number(value[name]):
                raise DecodeError(topic, f"{key}.{name} {value[name]!r} is not a number")
            number = float(value[name])
            out[reading] = _celsius(number, body.get("TempUnit")) if reading == TEMPERATURE \
                else number
    if rain_switch is not None and rain_switch in body:
        word = body[rain_switch]
        if not isinstance(word, str) or word.upper() not in ("ON", "OFF"):
            raise DecodeError(topic, f"{rain_switch} {word!r} is neither ON nor OFF")
        out[RAIN] = word.upper() == "ON"
    return out


def sensor_json(state: State, *, sensor: str | None, rain_switch: str | None) -> dict[str, Any]:
    """A SENSOR object as Tasmota writes it, from vipctl readings (what the simulator sends)."""
    body: dict[str, Any] = {}
    measured = {name: state[reading] for name, reading in MEASUREMENTS.items()
                if reading in state}
    if measured:
        body[sensor or DEFAULT_SENSOR] = measured
    if rain_switch is not None and RAIN in state:
        body[rain_switch] = "ON" if state[RAIN] else "OFF"
    if measured:
        body["TempUnit"] = "C"
    return body
