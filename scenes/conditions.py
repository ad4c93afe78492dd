"""A cue's `when:`: a sensor reading or the visit's party size compared with a value.

    when: outdoor_weather.rain == true
    when: party_size >= 4
    when: {test: vip_room_climate.temperature > 27, if_unknown: skip}

Pure: parsing and comparing. Reading the sensor at the cue's time is the controller's
business (controller/engine/conditions.py); what it found is handed to `holds`.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from devices.model import READINGS, StateValue

PARTY = "party_size"  # the visit's party size, the one subject that is no sensor
# Comparison operators as written, longest first so that `>=` is not read as `>`.
OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq, "!=": operator.ne, ">=": operator.ge, "<=": operator.le,
    ">": operator.gt, "<": operator.lt,
}
EQUALITY = ("==", "!=")
BOOLS = {"true": True, "false": False, "on": True, "off": False}
IfUnknown = Literal["run", "skip"]
# With no reading (the sensor offline, or never heard from), a cue runs unless it says
# otherwise: the conditions of a reception guard staff reminders, and a needless one (take
# the umbrellas) costs less than a missed one.
DEFAULT_IF_UNKNOWN: IfUnknown = "run"

_TEST = re.compile(r"\s*(?P<subject>[A-Za-z0-9_.-]+)\s*(?P<op>==|!=|>=|<=|>|<)\s*(?P<value>\S+)\s*")
_SENSOR = re.compile(r"(?P<device>[a-z0-9][a-z0-9_-]*)\.(?P<reading>[a-z_]+)")
_GRAMMAR = ("write <sensor>.<reading> or party_size, an operator (== != > >= < <=) and a value, "
            "e.g. outdoor_weather.rain == true, vip_room_climate.temperature > 27, "
            "party_size >= 4")


@dataclass(frozen=True, slots=True)
class Comparison:
    """One comparison. `device` is None for the party size."""

    device: str | None
    reading: str
    op: str
    value: bool | float
    text: str  # as written, for the event log

    @classmethod
    def parse(cls, text: str) -> Comparison:
        """ValueError says what is wrong, and what is allowed."""
        match = _TEST.fullmatch(text)
        if match is None:
            raise ValueError(f"{text!r} is not a condition: {_GRAMMAR}")
        subject, op, raw = match["subject"], match["op"], match["value"]
        if subject == PARTY:
            device, reading, kind = None, PARTY, float
        else:
            sensor = _SENSOR.fullmatch(subject)
            if sensor is None:
                raise ValueError(f"{subject!r} is neither party_size nor <sensor>.<reading>: "
                                 f"{_GRAMMAR}")
            device, reading = sensor["device"], sensor["reading"]
            if reading not in READINGS:
                raise ValueError(f"{reading!r} is not a reading (readings: "
                                 f"{', '.join(sorted(READINGS))})")
            kind = READINGS[reading]
        return cls(device, reading, op, _value(text, reading, kind, op, raw), text.strip())

    def holds(self, seen: StateValue) -> bool:
        """Whether the condition is true of `seen` (a reading of the right type)."""
        value: bool | float = bool(seen) if isinstance(self.value, bool) else float(seen)
        return OPERATORS[self.op](value, self.value)

    def __str__(self) -> str:
        return self.text


def _value(text: str, reading: str, kind: type, op: str, raw: str) -> bool | float:
    if kind is bool:
        if raw.lower() not in BOOLS:
            raise ValueError(f"{text!r}: {reading} is true or false, not {raw!r}")
        if op not in EQUALITY:
            raise ValueError(f"{text!r}: {reading} is true or false: compare it with == or !=")
        return BOOLS[raw.lower()]
    try:
        number = float(raw)
    except ValueError:
        raise ValueError(f"{text!r}: {reading} is a number, not {raw!r}") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError(f"{text!r}: {raw!r} is not a usable number")
    return number


def usable(test: Comparison, seen: StateValue | None) -> bool:
    """Whether `seen` is a reading the test can judge (not missing, and of its type)."""
    if seen is None:
        return False
    if isinstance(test.value, bool):
        return isinstance(seen, bool)
    return isinstance(seen, int | float) and not isinstance(seen, bool)


Decision = Literal["run", "skip-condition", "skip-unknown", "run-unknown"]


def decide(test: Comparison, seen: StateValue | None, if_unknown: IfUnknown) -> Decision:
    """What a cue does given what was read: run, or skip (its condition false, or nothing
    to judge and its policy says skip); `run-unknown`: nothing to judge, run anyway."""
    if seen is None or not usable(test, seen):
        return "run-unknown" if if_unknown == "run" else "skip-unknown"
    return "run" if test.holds(seen) else "skip-condition"
