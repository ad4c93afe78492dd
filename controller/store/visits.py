"""A visit: its status machine, what each status means for the site, and the errors of
booking one. The book that stores visits and enforces P1 is book.py; what a caller may ask
for is requests.py.

P1 (one visitor at a time): a visit occupies [start, start + duration + teardown); visits
that are cancelled, done or no-show occupy nothing (FREE). All times go in and out
timezone-aware.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from controller.errors import ControllerError

DEFAULT_DURATION = timedelta(minutes=60)
MAX_DURATION = timedelta(hours=12)  # longer than any reception; a typo more likely
EARLIEST_START = datetime(2000, 1, 1)  # only the years matter: bounds on plausible starts
LATEST_START = datetime(2999, 12, 31)

class VisitError(ControllerError):
    """Base of every error about visits."""


class BookingRefused(VisitError):
    def __init__(
        self, reason: str, *, collides_with: str | None = None, next_free: datetime | None = None
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.collides_with = collides_with
        self.next_free = next_free


class UnknownVisit(VisitError):
    def __init__(self, visit_id: str) -> None:
        super().__init__(f"no visit {visit_id!r}")
        self.visit_id = visit_id


class VisitStatus(StrEnum):
    BOOKED = "booked"
    PREPARING = "preparing"
    ARRIVED = "arrived"
    AT_SHOW_FLAT = "at_show_flat"
    DEPARTING = "departing"
    DONE = "done"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"


class IllegalTransition(VisitError):
    def __init__(self, visit_id: str, from_status: VisitStatus, to_status: VisitStatus) -> None:
        super().__init__(f"visit {visit_id}: {from_status} cannot go to {to_status}")
        self.visit_id = visit_id
        self.from_status = from_status
        self.to_status = to_status


S = VisitStatus
TRANSITIONS: Mapping[VisitStatus, frozenset[VisitStatus]] = {
    # booked -> arrived: the guest came before the preparation started.
    S.BOOKED: frozenset({S.PREPARING, S.ARRIVED, S.CANCELLED, S.NO_SHOW}),
    # preparing -> booked: the visit was moved later after its preparation had begun.
    S.PREPARING: frozenset({S.BOOKED, S.ARRIVED, S.CANCELLED, S.NO_SHOW}),
    S.ARRIVED: frozenset({S.AT_SHOW_FLAT, S.DEPARTING, S.CANCELLED}),
    S.AT_SHOW_FLAT: frozenset({S.DEPARTING, S.CANCELLED}),
    S.DEPARTING: frozenset({S.DONE, S.CANCELLED}),
    S.DONE: frozenset(),
    S.CANCELLED: frozenset(),
    S.NO_SHOW: frozenset(),
}
ACTIVE = frozenset({S.PREPARING, S.ARRIVED, S.AT_SHOW_FLAT, S.DEPARTING})
ON_SITE = frozenset({S.ARRIVED, S.AT_SHOW_FLAT, S.DEPARTING})
FREE = frozenset({S.DONE, S.CANCELLED, S.NO_SHOW})  # these occupy no time
OPEN = frozenset(VisitStatus) - FREE  # not over yet
MOVABLE = frozenset({S.BOOKED, S.PREPARING})


def check_duration(value: timedelta) -> timedelta:
    if value <= timedelta(0):
        raise ValueError("duration must be positive")
    if value > MAX_DURATION:
        raise ValueError(f"duration must be at most {MAX_DURATION} (12 hours)")
    return value


def check_start(value: datetime) -> datetime:
    # Keeps start + duration + teardown far from datetime's limits, where it would overflow.
    if not EARLIEST_START.year <= value.year <= LATEST_START.year:
        raise ValueError(f"start must lie in the years {EARLIEST_START.year}-{LATEST_START.year}")
    return value


@dataclass(frozen=True, slots=True)
class Visit:
    """A visit as stored, times aware in the site's timezone. Not the ORM row."""

    id: str
    surname: str
    honorific: str
    full_name: str | None
    title: str | None
    party_size: int
    car_plate: str | None
    start: datetime
    duration: timedelta
    notes: str | None
    status: VisitStatus
    source: str
    created_at: datetime
    updated_at: datetime
    entered: Mapping[VisitStatus, datetime]  # when each status was (last) entered
    cancel_reason: str | None = None

    @property
    def end(self) -> datetime:
        return self.start + self.duration

    @property
    def salutation(self) -> str:
        """How staff address the guest (P4): 王先生, 张总."""
        return f"{self.surname}{self.honorific}"
