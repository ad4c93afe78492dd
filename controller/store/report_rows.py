"""The rows a report is computed from: visits, their status changes, their steps in the
ledger and the event log, read in one transaction (controller/reports computes on them).

`site_id=None` reads every site's rows, for a company whose sites share one database;
each row carries its site.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, false, or_, select, true
from sqlalchemy.orm import Session

from controller.store.database import Database
from controller.store.tables import EventRow, StepRow, VisitRow, VisitStatusRow, to_utc


@dataclass(frozen=True, slots=True)
class VisitRecord:
    id: str
    site_id: str
    surname: str
    honorific: str
    start: datetime
    end: datetime
    status: str
    source: str
    cancel_reason: str | None = None


@dataclass(frozen=True, slots=True)
class StatusRecord:
    visit_id: str
    status: str
    at: datetime


@dataclass(frozen=True, slots=True)
class StepRecord:
    visit_id: str
    key: str
    claimed_at: datetime
    result: str | None
    result_at: datetime | None


@dataclass(frozen=True, slots=True)
class EventRecord:
    id: int
    site_id: str
    at: datetime
    kind: str
    visit_id: str | None = None
    source: str | None = None
    device_id: str | None = None
    result: str | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ReportRows:
    """Everything a report reads; events in the order they were written."""

    visits: list[VisitRecord]
    statuses: list[StatusRecord]
    steps: list[StepRecord]
    events: list[EventRecord]


def _visit(row: VisitRow) -> VisitRecord:
    return VisitRecord(id=row.id, site_id=row.site_id, surname=row.surname,
                       honorific=row.honorific, start=row.start, end=row.end,
                       status=row.status, source=row.source, cancel_reason=row.cancel_reason)


def _event(row: EventRow) -> EventRecord:
    return EventRecord(id=row.id, site_id=row.site_id, at=row.at, kind=row.kind,
                       visit_id=row.visit_id, source=row.source, device_id=row.device_id,
                       result=row.result, detail=row.detail or {})


def _rows(session: Session, visits: list[VisitRecord],
          events_also: ColumnElement[bool]) -> ReportRows:
    ids = [v.id for v in visits]
    statuses = [StatusRecord(r.visit_id, r.status, r.at) for r in session.scalars(
        select(VisitStatusRow).where(VisitStatusRow.visit_id.in_(ids))
        .order_by(VisitStatusRow.id))]
    steps = [StepRecord(r.visit_id, r.key, r.claimed_at, r.result, r.result_at)
             for r in session.scalars(select(StepRow).where(StepRow.visit_id.in_(ids))
                                      .order_by(StepRow.id))]
    events = [_event(r) for r in session.scalars(
        select(EventRow).where(or_(EventRow.visit_id.in_(ids), events_also))
        .order_by(EventRow.id))]
    return ReportRows(visits=visits, statuses=statuses, steps=steps, events=events)


def visit_rows(db: Database, visit_id: str) -> ReportRows | None:
    """One visit of this site and all that was recorded about it; None if there is none."""
    with db.read() as session:
        row = session.scalars(select(VisitRow).where(
            VisitRow.id == visit_id, VisitRow.site_id == db.site_id)).first()
        if row is None:
            return None
        # Walk-ins recorded while it ran carry its id; nothing else is needed.
        return _rows(session, [_visit(row)], false())


def period_rows(db: Database, since: datetime, until: datetime, *,
                site_id: str | None) -> ReportRows:
    """The visits booked to start in [since, until) and what was recorded about them, with
    every event written in that window (walk-ins, announcements outside visits), and the
    walk-in events from before it (a callback asked for earlier may be booked in it).
    `site_id` None: every site's."""
    since, until = to_utc(since), to_utc(until)
    site_visit = true() if site_id is None else VisitRow.site_id == site_id
    site_event = true() if site_id is None else EventRow.site_id == site_id
    with db.read() as session:
        visits = [_visit(r) for r in session.scalars(
            select(VisitRow).where(site_visit, VisitRow.start >= since, VisitRow.start < until)
            .order_by(VisitRow.start))]
        in_window = (EventRow.at >= since) & (EventRow.at < until)
        walk_ins = (EventRow.kind == "walk_in") & (EventRow.at < until)
        return _rows(session, visits, site_event & or_(in_window, walk_ins))
