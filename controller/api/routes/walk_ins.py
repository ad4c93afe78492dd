"""Walk-ins (P1): a customer without a booking, recorded at the front desk; the callbacks
the 客户管家 makes, each turned into a booking in one request.

The phone number is shown in full only to a concierge or an admin (who call back); a
viewer (a lobby screen) sees it masked. It never goes in the event log.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.exceptions import RequestValidationError
from pydantic import AfterValidator, BaseModel, Field, SecretStr, ValidationError, field_validator

from controller.api.deps import CallerDep, DaemonDep, aware, invalid
from controller.api.models import Body, ErrorOut, Minutes, Refusal, SiteTime, VisitOut
from controller.auth.settings import Role
from controller.engine.walk_ins import NoPreferredTime
from controller.store.requests import Word
from controller.store.walk_ins import WalkIn, WalkInStatus

# A phone number as people write it: digits, an optional leading +, spaces and dashes.
PHONE = re.compile(r"^\+?[0-9][0-9 -]{4,23}$")
_ERRORS: dict[int | str, dict[str, Any]] = {404: {"model": ErrorOut}, 422: {"model": ErrorOut}}

router = APIRouter(tags=["walk-ins"])


def _phone(value: SecretStr | None) -> SecretStr | None:
    if value is not None and not PHONE.fullmatch(value.get_secret_value().strip()):
        raise ValueError("not a phone number (digits, an optional +, spaces and dashes)")
    return value


class WalkInIn(Body):
    surname: Annotated[Word, Field(min_length=1, max_length=8)] | None = None
    honorific: Annotated[Word, Field(min_length=1, max_length=4)] | None = None
    phone: Annotated[SecretStr | None, AfterValidator(_phone)] = Field(
        default=None, description="for the callback; shown in full to concierges only")
    preferred: SiteTime | None = Field(default=None, description="when the customer would "
                                       "like to visit: the booking's start")

    @field_validator("surname", "honorific", mode="before")
    @classmethod
    def _blank(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value


class BookIn(Body):
    start: SiteTime | None = Field(default=None, description="default: the preferred time")
    duration: Minutes | None = Field(default=None, description="minutes; default 60")


class WalkInOut(BaseModel):
    id: int
    at: datetime
    source: str
    visit_id: str | None = Field(description="the VIP visit under way when the customer came")
    during_visit: bool
    surname: str | None
    honorific: str | None
    salutation: str
    phone: str | None = Field(description="masked (138****5678) for viewers")
    preferred: datetime | None
    status: WalkInStatus
    booking: str | None = Field(description="the visit booked from this callback")

    @classmethod
    def of(cls, walk_in: WalkIn, daemon: Any, *, full_phone: bool) -> WalkInOut:
        tz = daemon.tz
        phone = walk_in.phone if full_phone or walk_in.phone is None else mask(walk_in.phone)
        return cls(id=walk_in.id, at=walk_in.at.astimezone(tz), source=walk_in.source,
                   visit_id=walk_in.visit_id, during_visit=walk_in.during_visit,
                   surname=walk_in.surname, honorific=walk_in.honorific,
                   salutation=walk_in.salutation, phone=phone,
                   preferred=walk_in.preferred.astimezone(tz) if walk_in.preferred else None,
                   status=walk_in.status, booking=walk_in.booking)


class WalkInList(BaseModel):
    walk_ins: list[WalkInOut] = Field(description="newest first")
    waiting: int = Field(description="callbacks still to make")
    engaged: str | None = Field(description="the VIP visit under way now: a walk-in now is "
                                "declined politely and kept for a callback")


class BookedOut(BaseModel):
    walk_in: WalkInOut
    visit: VisitOut


def mask(phone: str) -> str:
    """138****5678: the ends only, enough to tell two callbacks apart."""
    digits = phone.strip()
    keep_head, keep_tail = (3, 4) if len(digits) >= 8 else (0, 2)
    return digits[:keep_head] + "*" * (len(digits) - keep_head - keep_tail) + digits[-keep_tail:]


def _full_phone(caller: Any) -> bool:
    role: Role = caller.role
    return role.allows(Role.CONCIERGE)


@router.post("/walk-ins", status_code=201, response_model=WalkInOut, responses=_ERRORS)
async def record_walk_in(daemon: DaemonDep, caller: CallerDep,
                         body: WalkInIn | None = None) -> WalkInOut:
    """A customer without a booking. During a VIP visit: kept as a callback for the
    客户管家 (told when the visit is over). Otherwise the 客户管家 is told at once."""
    body = body or WalkInIn()
    phone = body.phone.get_secret_value().strip() if body.phone else None
    walk_in = await daemon.walk_ins.record(
        source=caller.source, surname=body.surname, honorific=body.honorific, phone=phone,
        preferred=aware(body.preferred, daemon))
    return WalkInOut.of(walk_in, daemon, full_phone=True)


@router.get("/walk-ins", response_model=WalkInList)
async def list_walk_ins(
    daemon: DaemonDep, caller: CallerDep,
    status: Annotated[list[WalkInStatus] | None, Query(description="any of these")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> WalkInList:
    """The walk-ins, newest first; phone numbers masked for viewers."""
    walk_ins = daemon.walk_ins.book.list(statuses=tuple(status) if status else None,
                                         limit=limit)
    engaged = daemon.walk_ins.engaged()
    full = _full_phone(caller)
    return WalkInList(walk_ins=[WalkInOut.of(w, daemon, full_phone=full) for w in walk_ins],
                      waiting=len(daemon.walk_ins.book.waiting()),
                      engaged=engaged.id if engaged else None)


@router.post("/walk-ins/{walk_in_id}/book", status_code=201, response_model=BookedOut,
             responses={**_ERRORS, 409: {"model": Refusal}})
async def book_walk_in(walk_in_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
                       daemon: DaemonDep, caller: CallerDep,
                       body: BookIn | None = None) -> BookedOut:
    """The callback as a booking: the preferred time its start (unless `start` is given),
    the walk-in's name its guest. Refused (409) as any booking: an overlap names the visit
    in the way and the next free start."""
    body = body or BookIn()
    try:
        walk_in, visit = await daemon.walk_ins.book_callback(
            walk_in_id, source=caller.source, start=aware(body.start, daemon),
            duration=body.duration)
    except NoPreferredTime as exc:
        raise invalid(("body", "start"), str(exc)) from None
    except ValidationError as exc:  # a walk-in with no name, a preferred time now past
        raise RequestValidationError([
            {**e, "loc": ("walk_in", *e["loc"])}
            for e in exc.errors(include_input=False, include_url=False)]) from None
    return BookedOut(walk_in=WalkInOut.of(walk_in, daemon, full_phone=True),
                     visit=VisitOut.of(visit, daemon.tz))
