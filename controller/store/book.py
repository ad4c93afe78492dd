"""The book of visits: stored in the database, P1 enforced on every booking and move.

A refused booking names the visit it collides with and the earliest free start. A naive
time means the site's timezone.
"""

from __future__ import annotations

import builtins
import dataclasses
import secrets
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Row, Table, and_, bindparam, or_, select
from sqlalchemy.orm import Session

from controller.store.database import Database
from controller.store.open_visits import OpenVisits
from controller.store.requests import VisitRequest
from controller.store.tables import Clock, VisitRow, VisitStatusRow, utc_now
from controller.store.visits import (
    ACTIVE,
    DEFAULT_DURATION,
    FREE,
    MOVABLE,
    ON_SITE,
    OPEN,
    TRANSITIONS,
    BookingRefused,
    IllegalTransition,
    UnknownVisit,
    Visit,
    VisitStatus,
    check_duration,
    check_start,
)

S = VisitStatus
_VISITS = cast(Table, VisitRow.__table__)
_HISTORY = cast(Table, VisitStatusRow.__table__)
# A visit's columns under their attribute names (`start`, not `start_at`): read as rows.
VISIT_COLUMNS = [getattr(VisitRow, c.key) for c in VisitRow.__mapper__.column_attrs]
# Core statements, built once: the ORM's bulk UPDATE would look for the row among the
# session's objects first, and a statement built per call is compiled per call.
_SET_STATUS = _VISITS.update().where(_VISITS.c.id == bindparam("v"))
# How far in the past a start may lie and still be booked: "VIP now" books at the
# current minute, and the request took a moment to arrive.
DEFAULT_GRACE = timedelta(minutes=2)
_ID_PREFIX = "v-"
_ID_BYTES = 3  # six hex digits: short enough to read out, and retried on collision


class VisitBook:
    """The visits in the database, with P1 enforced on every booking and move.

    Each write is one short transaction, cheap enough to call from the event loop. Bookings
    and moves are serialised through `Database.lock_schedule`, so two racing bookings of
    one slot cannot both succeed, in one process or several.

    The visits not yet over (OPEN) are also kept in memory, read once and then kept up to
    date by this book's own writes: a button press finds its visit without a query
    (bench/, "Performance"). That makes this book the only writer of its visits while it
    lives, as the daemon is; `reload()` reads them again after someone else wrote.

    They are read when first needed (a press looking for its visit, `load()`), not when the
    book is made: a year of bookings takes a fifth of a second to read, and the daemon's
    start-up needs only the next day's (the schedule), which it reads from the database.
    Until then every question goes to the database, which the writes keep up to date.
    """

    def __init__(
        self,
        db: Database,
        *,
        tz: ZoneInfo,
        teardown: timedelta,
        clock: Clock = utc_now,
        grace: timedelta = DEFAULT_GRACE,
    ) -> None:
        if teardown < timedelta(0):
            raise ValueError("teardown must not be negative")
        self._db = db
        self._tz = tz
        self._teardown = teardown
        self._clock = clock
        self._grace = grace
        self._open: OpenVisits | None = None  # once loaded

    # The visits not yet over, in memory.

    def reload(self) -> None:
        """Read the visits not yet over from the database again."""
        with self._db.read() as session:
            rows = session.execute(select(*VISIT_COLUMNS).where(
                VisitRow.site_id == self._db.site_id,
                VisitRow.status.in_([s.value for s in OPEN]))).all()
            visits = self._visits(session, rows)
        self._open = OpenVisits(visits)

    def load(self) -> None:
        """Read the visits not yet over into memory now, unless they already are."""
        self._memory()

    def _memory(self) -> OpenVisits:
        if self._open is None:
            self.reload()
        assert self._open is not None
        return self._open

    def _remember(self, visit: Visit) -> None:
        """Keep the memory up to date with a write, if it is loaded (once it is, it is read
        from the database, which has the write)."""
        if self._open is not None:
            self._open.remember(visit)

    def nearest(self, at: datetime, *, ahead: timedelta,
                statuses: Iterable[VisitStatus]) -> Visit | None:
        """The visit in `statuses` under way at `at` or starting within `ahead` of it
        (start - ahead <= at <= end) whose start is nearest `at`."""
        return self._memory().nearest(self._aware(at), ahead=ahead, statuses=statuses)

    def book(self, request: VisitRequest, source: str, *,
             also: Callable[[Session, Visit], None] | None = None) -> Visit:
        """Book `request`; `also(session, visit)` writes in the same transaction (a head
        office request's reply: booked and answered together, or neither)."""
        if not 1 <= len(source) <= 32:
            raise ValueError("source must be 1 to 32 characters")
        start = self._aware(request.start)
        now = self._clock()
        with self._db.write() as session:
            self._db.lock_schedule(session)
            self._check_slot(session, start, request.duration, now, exclude=None)
            visit_id = self._new_id(session)
            row = VisitRow(
                id=visit_id,
                site_id=self._db.site_id,
                **request.model_dump(exclude={"start", "duration"}),
                start=start,
                end=start + request.duration,
                status=S.BOOKED.value,
                source=source,
                created_at=now,
                updated_at=now,
            )
            session.add(row)
            session.add(VisitStatusRow(site_id=self._db.site_id, visit_id=visit_id,
                                       status=S.BOOKED.value, at=now))
            session.flush()
            visit = self._visits(session, [row])[0]
            if also is not None:
                also(session, visit)
        self._remember(visit)
        return visit

    def move(self, visit_id: str, new_start: datetime, duration: timedelta | None = None) -> Visit:
        """Give a booked (or preparing) visit a new start and, optionally, a new duration."""
        try:
            start = self._aware(check_start(new_start))
            length = None if duration is None else check_duration(duration)
        except ValueError as bad:
            raise BookingRefused(str(bad)) from None
        now = self._clock()
        with self._db.write() as session:
            self._db.lock_schedule(session)
            row = self._row(session, visit_id)
            if row.status not in MOVABLE:
                raise BookingRefused(
                    f"visit {visit_id} is {row.status}; only booked or preparing visits move"
                )
            length = row.end - row.start if length is None else length
            self._check_slot(session, start, length, now, exclude=visit_id)
            row.start, row.end, row.updated_at = start, start + length, now
            session.flush()
            visit = self._visits(session, [row])[0]
        self._remember(visit)
        return visit

    def cancel(self, visit_id: str, reason: str) -> Visit:
        return self.set_status(visit_id, S.CANCELLED, reason=reason)

    def set_status(
        self,
        visit_id: str,
        status: VisitStatus,
        at: datetime | None = None,
        *,
        reason: str | None = None,
        defer: bool = False,
    ) -> Visit:
        """Move a visit along the status machine; `reason` is kept for a cancellation.

        `defer`: written with the database's next deferred writes (Database.defer) rather
        than now; the visit has changed here at once either way."""
        status = VisitStatus(status)
        at = self._clock() if at is None else self._aware(at)
        visit = self.get(visit_id)
        if status not in TRANSITIONS[visit.status]:
            raise IllegalTransition(visit_id, visit.status, status)
        start = visit.start
        if status in ON_SITE and at < start:
            # A guest who came early occupies the site from now on (P1): the visit
            # starts when the guest is here. Its end stays as booked.
            start = self._local(at)
        changed = dataclasses.replace(
            visit, status=status, updated_at=self._local(at), start=start,
            duration=visit.end - start, entered={**visit.entered, status: self._local(at)},
            cancel_reason=reason if status is S.CANCELLED else visit.cancel_reason)
        values = {"v": visit_id, "status": status.value, "updated_at": at, "start_at": start,
                  "cancel_reason": changed.cancel_reason}

        def write(session: Session) -> None:
            session.execute(_SET_STATUS, values)
            session.execute(_HISTORY.insert(), {"site_id": self._db.site_id, "visit_id": visit_id,
                                                "status": status.value, "at": at})

        # Durable: a status rolled back by a power cut would let its trigger, and the
        # announcements it sets off, be taken again after the power returns.
        if defer:
            self._db.defer(write, durable=True)
        else:
            with self._db.write(durable=True) as session:
                write(session)
        self._remember(changed)
        return changed

    def undo_status(self, visit_id: str, undone: VisitStatus, back_to: VisitStatus) -> Visit:
        """Take back a status a mistaken press moved the visit to (controller/engine/undo.py
        checks that it may be): `undone`'s history row goes, as if never entered, and the
        visit is `back_to` again. Outside the status machine on purpose."""
        visit = self.get(visit_id)
        if visit.status is not undone:
            raise IllegalTransition(visit_id, visit.status, back_to)
        now = self._clock()
        entered = {s: at for s, at in visit.entered.items() if s is not undone}
        changed = dataclasses.replace(visit, status=back_to, updated_at=self._local(now),
                                      entered=entered)
        with self._db.write(durable=True) as session:
            session.execute(_SET_STATUS, {"v": visit_id, "status": back_to.value,
                                          "updated_at": now, "start_at": visit.start,
                                          "cancel_reason": visit.cancel_reason})
            session.execute(_HISTORY.delete().where(_HISTORY.c.visit_id == visit_id,
                                                    _HISTORY.c.status == undone.value))
        self._remember(changed)
        return changed

    def get(self, visit_id: str) -> Visit:
        """The visit of this id: from memory if it is open and the memory loaded, else from
        the database (over, or unknown: UnknownVisit)."""
        visit = None if self._open is None else self._open.by_id.get(visit_id)
        if visit is not None:
            return visit
        with self._db.read() as session:
            return self._visits(session, [self._row(session, visit_id)])[0]

    def read_many(self, session: Session, visit_ids: Iterable[str]) -> dict[str, Visit]:
        """The site's visits of these ids, as they are in `session`'s transaction (for a
        reader off the loop: controller/link's events carry their visit)."""
        ids = sorted(set(visit_ids))
        if not ids:
            return {}
        rows = session.execute(select(*VISIT_COLUMNS).where(
            VisitRow.site_id == self._db.site_id, VisitRow.id.in_(ids))).all()
        return {visit.id: visit for visit in self._visits(session, rows)}

    def list(
        self,
        since: datetime | None = None,
        until: datetime | None = None,
        statuses: Iterable[VisitStatus] | None = None,
        *,
        after: Visit | None = None,
        limit: int | None = None,
    ) -> builtins.list[Visit]:
        """Visits starting in [since, until), in order of start (then id): those after the
        visit `after` in that order, at most `limit` of them."""
        statuses = None if statuses is None else tuple(statuses)
        found = self._from_memory(since, until, statuses, after, limit)
        if found is not None:
            return found
        with self._db.read() as session:
            return self._read_page(session, since, until, statuses, after, limit)

    async def page(
        self,
        since: datetime | None = None,
        until: datetime | None = None,
        statuses: Iterable[VisitStatus] | None = None,
        *,
        after: Visit | None = None,
        limit: int,
    ) -> builtins.list[Visit]:
        """As `list`, for the API: what is not in memory is read in the database's reader
        thread, off the event loop."""
        statuses = None if statuses is None else tuple(statuses)
        found = self._from_memory(since, until, statuses, after, limit)
        if found is not None:
            return found
        return await self._db.read_off_loop(
            lambda session: self._read_page(session, since, until, statuses, after, limit))

    def _from_memory(self, since: datetime | None, until: datetime | None,
                     statuses: Iterable[VisitStatus] | None, after: Visit | None,
                     limit: int | None) -> builtins.list[Visit] | None:
        wanted = None if statuses is None else frozenset(VisitStatus(s) for s in statuses)
        if self._open is None or wanted is None or not wanted <= OPEN:
            return None
        return self._open.between(
            None if since is None else self._aware(since),
            None if until is None else self._aware(until), wanted,
            after=None if after is None else (after.start, after.id), limit=limit)

    def _read_page(self, session: Session, since: datetime | None, until: datetime | None,
                   statuses: Iterable[VisitStatus] | None, after: Visit | None,
                   limit: int | None) -> builtins.list[Visit]:
        query = (select(*VISIT_COLUMNS).where(VisitRow.site_id == self._db.site_id)
                 .order_by(VisitRow.start, VisitRow.id))
        if since is not None:
            query = query.where(VisitRow.start >= self._aware(since))
        if until is not None:
            query = query.where(VisitRow.start < self._aware(until))
        if statuses is not None:
            query = query.where(VisitRow.status.in_([VisitStatus(s).value for s in statuses]))
        if after is not None:
            query = query.where(or_(VisitRow.start > after.start,
                                    and_(VisitRow.start == after.start, VisitRow.id > after.id)))
        if limit is not None:
            query = query.limit(limit)
        return self._visits(session, session.execute(query).all())

    def current(self, now: datetime | None = None) -> Visit | None:
        """The visit under way: a guest on site before one only being prepared (two
        back-to-back visits overlap that way); among equals the start nearest `now`."""
        at = self._clock() if now is None else self._aware(now)
        active = self.list(statuses=ACTIVE)
        if not active:
            return None
        return min(active, key=lambda v: (v.status not in ON_SITE, abs(v.start - at)))

    def next_free(self, after: datetime, duration: timedelta = DEFAULT_DURATION) -> datetime:
        """The earliest start >= `after` where `duration` fits without overlap."""
        with self._db.read() as session:
            return self._next_free(session, self._aware(after), check_duration(duration), None)

    # Internals.

    def _aware(self, value: datetime) -> datetime:
        return value.replace(tzinfo=self._tz) if value.tzinfo is None else value

    def _local(self, value: datetime) -> datetime:
        return value.astimezone(self._tz)

    def _fmt(self, value: datetime) -> str:
        local = self._local(value)
        return local.strftime("%Y-%m-%d %H:%M" + (":%S" if local.second else "") + " %Z")

    def _row(self, session: Session, visit_id: str, *, lock: bool = False) -> VisitRow:
        row = session.get(VisitRow, visit_id, with_for_update=lock)
        if row is None or row.site_id != self._db.site_id:  # another site's: not here
            raise UnknownVisit(visit_id)
        return row

    def _new_id(self, session: Session) -> str:
        while True:
            visit_id = _ID_PREFIX + secrets.token_hex(_ID_BYTES)
            if session.get(VisitRow, visit_id) is None:
                return visit_id

    def _occupying(
        self, session: Session, start: datetime, end: datetime | None, exclude: str | None
    ) -> builtins.list[VisitRow]:
        """Visits whose occupied time reaches past `start` (and begins before `end`)."""
        query = (
            select(VisitRow)
            .where(VisitRow.site_id == self._db.site_id)
            .where(VisitRow.end > start - self._teardown)
            .where(VisitRow.status.not_in([s.value for s in FREE]))
            .order_by(VisitRow.start, VisitRow.id)
        )
        if end is not None:
            query = query.where(VisitRow.start < end + self._teardown)
        if exclude is not None:
            query = query.where(VisitRow.id != exclude)
        rows = builtins.list(session.scalars(query).all())
        # A guest still on site after the booked end occupies the site until they leave:
        # treat the end as "now" for the overlap test.
        now = self._clock()
        overrun = select(VisitRow).where(VisitRow.site_id == self._db.site_id,
                                         VisitRow.status.in_([s.value for s in ON_SITE]))
        if exclude is not None:
            overrun = overrun.where(VisitRow.id != exclude)
        for row in session.scalars(overrun):
            if row in rows or row.end >= now:
                continue
            if now > start - self._teardown and (end is None or row.start < end + self._teardown):
                rows.append(row)
        return rows

    def _next_free(
        self, session: Session, after: datetime, duration: timedelta, exclude: str | None
    ) -> datetime:
        candidate = after
        # Sorted by start, one pass suffices: the candidate only moves later, so a visit
        # already passed can never collide again.
        for other in self._occupying(session, after, None, exclude):
            if other.start >= candidate + duration + self._teardown:
                break
            end = other.end
            if VisitStatus(other.status) in ON_SITE:  # still here: not before they leave
                end = max(end, self._clock())
            candidate = max(candidate, end + self._teardown)
        return self._local(candidate)

    def _check_slot(
        self,
        session: Session,
        start: datetime,
        duration: timedelta,
        now: datetime,
        exclude: str | None,
    ) -> None:
        if start < now - self._grace:
            raise BookingRefused(
                f"the start {self._fmt(start)} is in the past (now {self._fmt(now)})",
                next_free=self._next_free(session, now, duration, exclude),
            )
        clash = self._occupying(session, start, start + duration, exclude)
        if clash:
            other = clash[0]
            free = self._next_free(session, start, duration, exclude)
            raise BookingRefused(
                f"{self._fmt(start)} for {duration} overlaps visit {other.id} of "
                f"{other.surname}{other.honorific} ({self._fmt(other.start)} to "
                f"{self._fmt(other.end)}, then {self._teardown} teardown); "
                f"the next free start is {self._fmt(free)}",
                collides_with=other.id,
                next_free=free,
            )

    def _visits(self, session: Session, rows: Iterable[VisitRow | Row[Any]],
                ) -> builtins.list[Visit]:
        """Visits from their rows: mapped objects, or (for many at once) plain rows of
        VISIT_COLUMNS, which cost a tenth as much to read as objects the session tracks."""
        rows = builtins.list(rows)
        entered: dict[str, dict[VisitStatus, datetime]] = {row.id: {} for row in rows}
        if rows:
            history = session.execute(
                select(VisitStatusRow.visit_id, VisitStatusRow.status, VisitStatusRow.at)
                .where(VisitStatusRow.visit_id.in_(entered))
                .order_by(VisitStatusRow.id)
            )
            for step in history:
                entered[step.visit_id][VisitStatus(step.status)] = self._local(step.at)
        return [
            Visit(
                id=row.id,
                surname=row.surname,
                honorific=row.honorific,
                full_name=row.full_name,
                title=row.title,
                party_size=row.party_size,
                car_plate=row.car_plate,
                start=self._local(row.start),
                duration=row.end - row.start,
                notes=row.notes,
                status=VisitStatus(row.status),
                source=row.source,
                created_at=self._local(row.created_at),
                updated_at=self._local(row.updated_at),
                entered=entered[row.id],
                cancel_reason=row.cancel_reason,
            )
            for row in rows
        ]
