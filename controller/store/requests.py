"""A booking as a caller asks for it (the API, the CLI, the page, "VIP now"), validated once.

Names are data: any character a name may have is kept as given (quotes, slashes, '#',
emoji); only control characters and line breaks are refused, because a name is printed
on one line of a table and read out in one announcement.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime, timedelta
from typing import Annotated, Any, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)

from controller.store.visits import DEFAULT_DURATION, check_duration, check_start

# Zero-width (non-)joiner: format characters that are part of emoji sequences and of some
# scripts' names. Every other format character (bidi overrides...) is refused.
_JOINERS = frozenset({"\u200c", "\u200d"})
# Stripped from the ends of names: ASCII and ideographic spaces, never line breaks.
_NAME_PADDING = " \u3000"



def _check_chars(value: str, *, spaces: bool, newlines: bool = False) -> str:
    for position, char in enumerate(value):
        category = unicodedata.category(char)
        if newlines and char in "\n\t":
            continue
        if category in ("Cc", "Cs", "Zl", "Zp") or (category == "Cf" and char not in _JOINERS):
            what = "a control character or line break"
        elif not spaces and (category == "Zs" or char.isspace()):
            what = "whitespace"
        else:
            continue
        raise ValueError(f"must not contain {what} (U+{ord(char):04X} at position {position})")
    return value


def _strip_name(value: Any) -> Any:
    return value.strip(_NAME_PADDING) if isinstance(value, str) else value


def _blank_to_none(value: Any) -> Any:
    value = _strip_name(value)
    return None if value == "" else value


def _word(value: str) -> str:
    return _check_chars(value, spaces=False)


def _line(value: str) -> str:
    return _check_chars(value, spaces=True)


def _text(value: str) -> str:
    return _check_chars(value, spaces=True, newlines=True)


def _minutes(value: Any) -> Any:
    """Plain numbers are minutes (pydantic alone would read them as seconds)."""
    if isinstance(value, bool):
        raise ValueError("duration must be minutes or a timedelta, not a boolean")
    if isinstance(value, int | float) or (isinstance(value, str) and value.strip().isdigit()):
        try:
            return timedelta(minutes=float(value))
        except (OverflowError, ValueError):  # 1e20 minutes, nan
            raise ValueError(f"duration {value!r} minutes is out of range") from None
    return value


Word = Annotated[str, BeforeValidator(_strip_name), AfterValidator(_word)]
T = TypeVar("T")
# An optional field where a blank string (from a form or the CLI) means "not given".
_Optional = Annotated[T | None, BeforeValidator(_blank_to_none)]


class VisitRequest(BaseModel):
    """A booking as a caller asks for it. A naive `start` is in the site's timezone:
    validate with `context={"tz": ZoneInfo(...)}` to attach it now, or leave it to the book."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    surname: Annotated[Word, Field(min_length=1, max_length=8)]
    honorific: Annotated[Word, Field(min_length=1, max_length=4)]  # 先生, 女士, 总, 董事长
    full_name: _Optional[Annotated[str, Field(min_length=1, max_length=64)]] = None
    title: _Optional[Annotated[str, Field(min_length=1, max_length=32)]] = None
    party_size: Annotated[int, Field(ge=1, le=50)] = 1
    car_plate: _Optional[Annotated[str, Field(min_length=2, max_length=16)]] = None
    start: datetime
    duration: Annotated[timedelta, BeforeValidator(_minutes), AfterValidator(check_duration)] = (
        DEFAULT_DURATION
    )
    notes: _Optional[Annotated[str, Field(max_length=500)]] = None

    @field_validator("full_name", "title")
    @classmethod
    def _one_line(cls, value: str | None) -> str | None:
        return None if value is None else _line(value)

    @field_validator("car_plate")
    @classmethod
    def _plate(cls, value: str | None) -> str | None:
        # Loosely: 沪A·12345, 粤B 12345, WJ01-1234 all pass; it is shown, never parsed.
        if value is None:
            return None
        _line(value)
        if not any(char.isalnum() for char in value):
            raise ValueError("car plate must contain letters or digits")
        return value

    @field_validator("notes")
    @classmethod
    def _notes(cls, value: str | None) -> str | None:
        return None if value is None else _text(value)

    @field_validator("start")
    @classmethod
    def _site_zone(cls, value: datetime, info: ValidationInfo) -> datetime:
        check_start(value)
        tz = info.context.get("tz") if isinstance(info.context, dict) else None
        if value.tzinfo is None and tz is not None:
            return value.replace(tzinfo=tz)
        return value
