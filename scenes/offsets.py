"""Points of a visit as a scene file writes them: `start-45m`, `arrival`, `departure+5m`.

A point is an anchor plus an offset. `start` is the booked start, known in advance; the
other anchors are triggers (a button, the app) and become known only when they happen,
which is why only `start` may take a negative offset.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any, Literal, cast

from pydantic import PlainSerializer, PlainValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

Anchor = Literal["start", "arrival", "show_flat", "departure"]
# In the order a visit usually meets them; also the tie-break when sorting cues.
ANCHORS: tuple[Anchor, ...] = ("start", "arrival", "show_flat", "departure")
TRIGGERS: tuple[Anchor, ...] = ("arrival", "show_flat", "departure")
END = "end"  # in `until` and `run_until`: the scene's restore
# No step of a reception is days away from its anchor; a larger offset is a typo (and a
# huge one would overflow timedelta).
MAX_OFFSET = timedelta(days=2)

# anchor, then optionally a sign and an amount in h/m/s, largest unit first (1h30m, 90s).
_POINT = re.compile(r"(?P<anchor>\w+)\s*(?:(?P<sign>[+-])\s*(?P<amount>\S*))?")
_AMOUNT = re.compile(r"(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?(?:(?P<s>\d+)s)?")
_GRAMMAR = "write an anchor (start, arrival, show_flat, departure) with an optional offset " \
    "in h, m, s, e.g. start-45m, start, arrival+1m, departure+1h30m"


def _error(message: str) -> PydanticCustomError:
    return PydanticCustomError("offset", "{message}", {"message": message})


@dataclass(frozen=True, slots=True)
class At:
    """A point of a visit: `offset` after (or, for `start`, before) the anchor."""

    anchor: Anchor
    offset: timedelta = timedelta(0)

    @classmethod
    def parse(cls, text: str) -> At:
        """Parse `start-45m` and friends; ValueError says what is allowed."""
        match = _POINT.fullmatch(text.strip())
        if match is None:
            raise ValueError(f"{text!r} is not a point of the visit: {_GRAMMAR}")
        anchor = match["anchor"]
        if anchor not in ANCHORS:
            raise ValueError(f"{anchor!r} is not one of {', '.join(ANCHORS)}: {_GRAMMAR}")
        offset = timedelta(0)
        if match["sign"]:
            amount = _AMOUNT.fullmatch(match["amount"])
            if amount is None or not match["amount"]:
                raise ValueError(f"{text!r} has a malformed offset: {_GRAMMAR}")
            seconds = sum(int(amount[u] or 0) * n for u, n in (("h", 3600), ("m", 60), ("s", 1)))
            if seconds > MAX_OFFSET.total_seconds():
                raise ValueError(f"{text!r}: an offset is at most {MAX_OFFSET.days} days")
            offset = timedelta(seconds=seconds)
            if match["sign"] == "-":
                offset = -offset
        if anchor != "start" and offset < timedelta(0):
            raise ValueError(f"{text!r}: only start can take a negative offset "
                             f"({anchor} is a trigger, not known in advance)")
        return cls(cast(Anchor, anchor), offset)

    def __str__(self) -> str:
        if not self.offset:
            return self.anchor
        sign, rest = ("-", -self.offset) if self.offset < timedelta(0) else ("+", self.offset)
        seconds = int(rest.total_seconds())
        hours, minutes, secs = seconds // 3600, seconds // 60 % 60, seconds % 60
        parts = [f"{n}{u}" for n, u in ((hours, "h"), (minutes, "m"), (secs, "s")) if n]
        return f"{self.anchor}{sign}{''.join(parts)}"

    @property
    def sort_key(self) -> tuple[int, timedelta]:
        return ANCHORS.index(self.anchor), self.offset

    @property
    def before_visit(self) -> bool:
        return self.anchor == "start" and self.offset < timedelta(0)


Until = At | Literal["end"]


@dataclass(frozen=True, slots=True)
class Late:
    """What a cue does when it comes due late (the daemon was down, or the visit was moved).

    `run`: still worth it (the air conditioning). `skip`: stale (a reminder).
    `run_until`: run late until that point (`start`, `departure+2m`, `end`), skip after.
    """

    policy: Literal["run", "skip", "run_until"]
    until: Until | None = None

    def __str__(self) -> str:
        return f"run_until {self.until}" if self.policy == "run_until" else self.policy


def parse_at(value: Any) -> At:
    if isinstance(value, At):
        return value
    if not isinstance(value, str):
        raise _error(f"{value!r} is not a point of the visit: {_GRAMMAR}")
    try:
        return At.parse(value)
    except ValueError as e:
        raise _error(str(e)) from None


def parse_until(value: Any) -> Until:
    return "end" if value == END else parse_at(value)


def parse_late(value: Any) -> Late:
    if isinstance(value, Late):
        return value
    if value in ("run", "skip"):
        return Late(value)
    if isinstance(value, dict) and list(value) == ["run_until"]:
        return Late("run_until", parse_until(value["run_until"]))
    raise _error(f"{value!r} is not a late policy: write run, skip or {{run_until: <point>}} "
                 "(e.g. {run_until: start}, {run_until: end})")


def _dump_late(late: Late) -> str | dict[str, str]:
    return {"run_until": str(late.until)} if late.policy == "run_until" else late.policy


_POINT_SCHEMA = {"type": "string", "examples": ["start-45m", "arrival", "departure+5m"]}
AtField = Annotated[At, PlainValidator(parse_at), PlainSerializer(str, return_type=str),
                    WithJsonSchema(_POINT_SCHEMA)]
UntilField = Annotated[Until, PlainValidator(parse_until), PlainSerializer(str, return_type=str),
                       WithJsonSchema(_POINT_SCHEMA)]
LateField = Annotated[Late, PlainValidator(parse_late), PlainSerializer(_dump_late),
                      WithJsonSchema({"oneOf": [{"enum": ["run", "skip"]}, {
                          "type": "object", "properties": {"run_until": _POINT_SCHEMA},
                          "required": ["run_until"], "additionalProperties": False}]})]
