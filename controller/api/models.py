"""What the HTTP API takes and gives: request bodies, response shapes, and the conversions.

Times go out ISO 8601 in the site's timezone with its offset; a naive time coming in means
the site's timezone. Durations are minutes (a plain number) both ways.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from controller.store.events import Event
from controller.store.requests import VisitRequest
from controller.store.visits import Visit, VisitStatus, check_duration

# Ids as vipctl makes them (v-1a2b3c, device and group ids of the site file): anything
# else is not an id of ours, and never reaches the database.
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"
_ID = re.compile(ID_PATTERN)
# Plausible years for any time a caller asks about; also keeps UTC conversion of a time
# far from datetime's limits (year 1 at +08:00 overflows).
YEARS = (2000, 2999)
MAX_REASON = 200  # a cancellation reason: one line in a table


def is_id(value: str) -> bool:
    return _ID.fullmatch(value) is not None


def check_year(value: datetime) -> datetime:
    if not YEARS[0] <= value.year <= YEARS[1]:
        raise ValueError(f"the time must lie in the years {YEARS[0]}-{YEARS[1]}")
    return value


def _minutes(value: Any) -> Any:
    """A plain number is minutes (pydantic alone would read it as seconds), as in a booking."""
    if isinstance(value, bool):
        raise ValueError("duration must be minutes or an ISO 8601 duration, not a boolean")
    if isinstance(value, int | float) or (isinstance(value, str) and value.strip().isdigit()):
        try:
            return timedelta(minutes=float(value))
        except (OverflowError, ValueError):
            raise ValueError(f"duration {value!r} minutes is out of range") from None
    return value


def _one_line(value: str) -> str:
    for position, char in enumerate(value):
        if unicodedata.category(char) in ("Cc", "Cf", "Cs", "Zl", "Zp"):
            raise ValueError(f"must be one line of text (U+{ord(char):04X} at {position})")
    return value


SiteTime = Annotated[datetime, AfterValidator(check_year)]
Minutes = Annotated[timedelta, BeforeValidator(_minutes), AfterValidator(check_duration)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MoveRequest(Body):
    start: SiteTime
    duration: Minutes | None = Field(default=None, description="minutes; unchanged if left out")


class CancelRequest(Body):
    reason: Annotated[str, Field(min_length=1, max_length=MAX_REASON), AfterValidator(_one_line)]


class TriggerName(StrEnum):
    ARRIVAL = "arrival"
    SHOW_FLAT = "show-flat"
    DEPARTURE = "departure"
    VIP_NOW = "vip-now"

    @property
    def engine_name(self) -> str:
        return self.value.replace("-", "_")


def _guest_schema() -> dict[str, Any]:
    schema = VisitRequest.model_json_schema()
    schema["properties"].pop("start", None)
    schema["required"] = [r for r in schema.get("required", []) if r != "start"]
    schema["title"] = "Guest"
    return schema


class TriggerRequest(Body):
    visit_id: Annotated[str, Field(pattern=ID_PATTERN)] | None = Field(
        default=None, description="the visit it is for; by default the current (or next) one")
    # Checked as a VisitRequest without `start` (vip-now starts now); only for vip-now.
    guest: Annotated[dict[str, Any], Field(json_schema_extra=_guest_schema())] | None = None
    confirm: bool = Field(default=False, description="an arrival well before the visit's "
                          "start: yes, the guest is here (asked for by needs_confirmation)")


class VisitOut(BaseModel):
    id: str
    surname: str
    honorific: str
    salutation: str
    full_name: str | None
    title: str | None
    party_size: int
    car_plate: str | None
    start: datetime
    end: datetime
    duration: float = Field(description="minutes")
    notes: str | None
    status: VisitStatus
    source: str
    created_at: datetime
    updated_at: datetime
    entered: dict[str, datetime] = Field(description="when each status was (last) entered")
    cancel_reason: str | None

    @classmethod
    def of(cls, visit: Visit, tz: ZoneInfo) -> VisitOut:
        return cls(
            id=visit.id, surname=visit.surname, honorific=visit.honorific,
            salutation=visit.salutation, full_name=visit.full_name, title=visit.title,
            party_size=visit.party_size, car_plate=visit.car_plate,
            start=visit.start.astimezone(tz), end=visit.end.astimezone(tz),
            duration=visit.duration.total_seconds() / 60, notes=visit.notes,
            status=visit.status, source=visit.source,
            created_at=visit.created_at.astimezone(tz),
            updated_at=visit.updated_at.astimezone(tz),
            entered={s.value: at.astimezone(tz) for s, at in visit.entered.items()},
            cancel_reason=visit.cancel_reason,
        )


class Refusal(BaseModel):
    """A booking or move refused (P1): why, which visit is in the way, when is free."""

    error: str = "booking_refused"
    message: str
    reason: str
    collides_with: str | None
    next_free: datetime | None


class ErrorOut(BaseModel):
    error: str
    message: str
    errors: list[dict[str, str]] | None = None


class TriggerOut(BaseModel):
    trigger: str
    accepted: bool
    message: str
    visit_id: str | None
    needs_confirmation: bool = Field(default=False, description="not done: an arrival this "
                                     "early needs confirm=true with this visit_id")


class EventOut(BaseModel):
    id: int
    at: datetime
    kind: str
    visit_id: str | None
    source: str | None
    device_id: str | None
    detail: dict[str, Any]
    result: str | None

    @classmethod
    def of(cls, event: Event, tz: ZoneInfo) -> EventOut:
        return cls(id=event.id, at=event.at.astimezone(tz), kind=event.kind,
                   visit_id=event.visit_id, source=event.source, device_id=event.device_id,
                   detail=dict(event.detail), result=event.result)


class VisitPage(BaseModel):
    visits: list[VisitOut] = Field(description="in order of start")
    next_after_id: str | None = Field(description="pass as after_id for the next page")


class EventPage(BaseModel):
    events: list[EventOut] = Field(description="newest first")
    next_before_id: int | None = Field(description="pass as before_id for the older page")


class DeviceOut(BaseModel):
    id: str
    name: str
    kind: str
    groups: list[str]
    state: dict[str, Any]
    available: bool | None = Field(description="null: not heard from yet")
    assumed: bool = Field(description="cannot report its state; trusted, not confirmed")
    last_report: datetime | None
    failure: str | None
    failed_since: datetime | None
    failure_text: str | None = Field(default=None, description="the failure in the staff's "
                                     "words, in Chinese: the device's name and what to do")
    failure_text_en: str | None = Field(default=None, description="the same in English")

    @property
    def has_problem(self) -> bool:
        return self.available is False or self.failure is not None

    @classmethod
    def of(cls, snapshot: dict[str, Any], groups: list[str], tz: ZoneInfo,
           text: tuple[str, str] | None = None) -> DeviceOut:
        """`text`: the failure in the staff's words (zh, en), if it failed."""
        def when(stamp: float | None) -> datetime | None:
            return None if stamp is None else datetime.fromtimestamp(stamp, tz)

        zh, en = text if text is not None and snapshot["failure"] else (None, None)
        return cls(id=snapshot["id"], name=snapshot["name"], kind=snapshot["kind"],
                   groups=groups, state=snapshot["state"], available=snapshot["available"],
                   assumed=snapshot["assumed"], last_report=when(snapshot["last_report"]),
                   failure=snapshot["failure"], failed_since=when(snapshot["failed_since"]),
                   failure_text=zh, failure_text_en=en)


class StatusOut(BaseModel):
    site: str
    timezone: str
    now: datetime
    speed: float
    broker_connected: bool
    current: VisitOut | None
    next: list[VisitOut]
    device_problems: list[DeviceOut]
    alerts: list[EventOut] = Field(description="recent alerts and failed commands, newest first")


class Health(BaseModel):
    ok: bool
    # "standby": a hot standby's read-only API (controller/standby.py).
    role: Literal["active", "standby"] = "active"
