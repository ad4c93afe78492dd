"""Walk-ins (P1): customers who came without a booking, kept in the database.

While a VIP visit is engaged the concierge declines politely, gives the brochure and takes
a name, a phone number and a preferred time; the 客户管家 calls back and books the viewing
(`mark_booked`). With no VIP engaged the customer is received at once (`received`).

The phone number is secret-like: it is stored, and shown in full only to those who call
back (controller/api/routes/walk_ins.py); it never goes in a log line, an event or an
announcement. `WalkIn.__repr__` leaves it out, so a log of the object cannot leak it.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select

from controller.errors import ControllerError
from controller.store.database import Database
from controller.store.tables import Clock, WalkInRow, utc_now


class WalkInStatus(StrEnum):
    WAITING = "waiting"  # a callback to make
    BOOKED = "booked"  # the callback became a booking
    RECEIVED = "received"  # no VIP was engaged: received at once


class UnknownWalkIn(ControllerError):
    def __init__(self, walk_in_id: int) -> None:
        super().__init__(f"no walk-in {walk_in_id}")
        self.walk_in_id = walk_in_id


class WalkInAlreadyBooked(ControllerError):
    def __init__(self, walk_in_id: int, booking: str | None) -> None:
        super().__init__(f"walk-in {walk_in_id} is already booked as visit {booking}")
        self.walk_in_id = walk_in_id
        self.booking = booking


@dataclass(frozen=True, slots=True)
class WalkIn:
    id: int
    at: datetime
    source: str
    visit_id: str | None
    surname: str | None
    honorific: str | None
    phone: str | None = field(repr=False)
    preferred: datetime | None
    status: WalkInStatus
    booking: str | None

    @property
    def during_visit(self) -> bool:
        return self.visit_id is not None

    @property
    def salutation(self) -> str:
        """王先生, or 客户 when no name was taken."""
        return f"{self.surname or ''}{self.honorific or ''}" or "客户"


def _walk_in(row: WalkInRow) -> WalkIn:
    return WalkIn(id=row.id, at=row.at, source=row.source, visit_id=row.visit_id,
                  surname=row.surname, honorific=row.honorific, phone=row.phone,
                  preferred=row.preferred, status=WalkInStatus(row.status), booking=row.booking)


class WalkInBook:
    """The site's walk-ins; each write one short transaction."""

    def __init__(self, db: Database, *, clock: Clock = utc_now) -> None:
        self._db = db
        self._clock = clock

    def record(self, *, source: str, visit_id: str | None, surname: str | None = None,
               honorific: str | None = None, phone: str | None = None,
               preferred: datetime | None = None) -> WalkIn:
        status = WalkInStatus.WAITING if visit_id is not None else WalkInStatus.RECEIVED
        with self._db.write() as session:
            row = WalkInRow(site_id=self._db.site_id, at=self._clock(), source=source[:64],
                            visit_id=visit_id, surname=surname, honorific=honorific,
                            phone=phone, preferred=preferred, status=status.value)
            session.add(row)
            session.flush()
            return _walk_in(row)

    def get(self, walk_in_id: int) -> WalkIn:
        with self._db.read() as session:
            row = session.get(WalkInRow, walk_in_id)
            if row is None or row.site_id != self._db.site_id:
                raise UnknownWalkIn(walk_in_id)
            return _walk_in(row)

    def list(self, *, statuses: tuple[WalkInStatus, ...] | None = None,
             visit_id: str | None = None, limit: int = 200) -> list[WalkIn]:
        """Newest first."""
        query = (select(WalkInRow).where(WalkInRow.site_id == self._db.site_id)
                 .order_by(WalkInRow.id.desc()).limit(limit))
        if statuses is not None:
            query = query.where(WalkInRow.status.in_([s.value for s in statuses]))
        if visit_id is not None:
            query = query.where(WalkInRow.visit_id == visit_id)
        with self._db.read() as session:
            return [_walk_in(row) for row in session.scalars(query)]

    def visits_waiting(self) -> set[str]:
        """The visits during which walk-ins came who still wait for a callback."""
        query = select(WalkInRow.visit_id).distinct().where(
            WalkInRow.site_id == self._db.site_id,
            WalkInRow.status == WalkInStatus.WAITING.value, WalkInRow.visit_id.is_not(None))
        with self._db.read() as session:
            return {v for v in session.scalars(query) if v is not None}

    def waiting(self) -> builtins.list[WalkIn]:
        return self.list(statuses=(WalkInStatus.WAITING,))

    def mark_booked(self, walk_in_id: int, booking: str) -> WalkIn:
        with self._db.write() as session:
            row = session.get(WalkInRow, walk_in_id)
            if row is None or row.site_id != self._db.site_id:
                raise UnknownWalkIn(walk_in_id)
            if row.status == WalkInStatus.BOOKED.value:
                raise WalkInAlreadyBooked(walk_in_id, row.booking)
            row.status, row.booking = WalkInStatus.BOOKED.value, booking
            session.flush()
            return _walk_in(row)
