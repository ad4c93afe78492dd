"""Head office's database: many sites' messages written in batches, read by the page and API.

One writer (the ingest, controller/hq/ingest.py) writes one batch per transaction: events
with INSERT ... ON CONFLICT DO NOTHING on their id (a bridge's replay adds nothing), visits
upserted only by a newer report, each site's row merged in Python (one writer: no race).
PostgreSQL is the target; SQLite works for a trial (both have ON CONFLICT).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Table, create_engine, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from controller.hq.inbound import Event, Inbound, Link, Reply, SummaryIn
from controller.hq.tables import hq_bookings, hq_events, hq_sites, hq_visits, metadata
from controller.link import wire
from controller.store.tables import utc_now

# Rows a search returns at most: a page, not an export.
SEARCH_LIMIT = 200


@dataclass(frozen=True, slots=True)
class Written:
    events: int  # new events stored (a replayed one is not counted)
    messages: int  # messages in the batch


def _insert(engine: Engine, table: Table) -> Any:
    # Both dialects' inserts have ON CONFLICT; the portable Insert type does not.
    dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def _visit_row(site: str, visit: wire.VisitSnapshot, reported: datetime) -> dict[str, Any]:
    return {"site": site, "visit_id": visit.id, "salutation": visit.salutation[:64],
            "surname": visit.surname[:64], "honorific": visit.honorific[:64],
            "party_size": visit.party_size, "start": visit.start, "end": visit.end,
            "status": str(visit.status), "source": visit.source[:64], "reported": reported}


def _heard(news: dict[str, Any], at: datetime, *, seq: int | None = None,
           summary: wire.Summary | None = None) -> None:
    news["heard"] = max(at, news.get("heard", at))
    if seq is not None:
        news["seq"] = max(seq, news.get("seq", seq))
    if summary is not None and (news.get("summary") is None or news["summary"].at <= summary.at):
        news["summary"] = summary


Rows = list[dict[str, Any]]


def _sort(batch: Sequence[Inbound], received: datetime,
          ) -> tuple[Rows, Rows, dict[str, dict[str, Any]]]:
    """A batch as rows: new events, the newest report of each visit, what each site said."""
    events: Rows = []
    visits: dict[tuple[str, str], dict[str, Any]] = {}
    sites: dict[str, dict[str, Any]] = {}

    def visit(site: str, snapshot: wire.VisitSnapshot | None, at: datetime) -> None:
        if snapshot is None:
            return
        key = (site, snapshot.id)
        if key not in visits or visits[key]["reported"] <= at:
            visits[key] = _visit_row(site, snapshot, at)

    for item in batch:
        if isinstance(item, Event):
            m = item.message
            events.append({"id": m.id, "site": m.site, "seq": m.seq, "at": m.at,
                           "kind": m.kind[:64], "visit_id": m.visit_id, "source": m.source,
                           "device_id": m.device_id, "result": m.result,
                           "detail": m.detail, "received": received})
            visit(m.site, m.visit, m.at)
            _heard(sites.setdefault(m.site, {}), m.at, seq=m.seq)
        elif isinstance(item, SummaryIn):
            s = item.message
            for snapshot in [s.current, *s.next]:
                visit(s.site, snapshot, s.at)
            _heard(sites.setdefault(s.site, {}), s.at, summary=s)
        elif isinstance(item, Link):
            sites.setdefault(item.site, {})["link"] = item.up
        elif isinstance(item, Reply):  # a booked visit is searchable before any summary
            visit(item.message.site, item.message.visit, item.message.at)
    return events, list(visits.values()), sites


def _merged(values: dict[str, Any], news: dict[str, Any], received: datetime) -> dict[str, Any]:
    """A site's row with the batch's news: newer times win, a link change is dated."""
    heard = news.get("heard")
    if heard is not None and (values["last_heard"] is None or values["last_heard"] < heard):
        values["last_heard"] = heard
    if "seq" in news:
        values["last_seq"] = max(news["seq"], values["last_seq"] or 0)
    summary: wire.Summary | None = news.get("summary")
    if summary is not None and (values["summary_at"] is None
                                or values["summary_at"] <= summary.at):
        values.update(summary=summary.model_dump(mode="json"), summary_at=summary.at,
                      name=summary.name[:200])
    if "link" in news and values["link_up"] != news["link"]:
        values.update(link_up=news["link"], link_since=received)
    return values


class HqStore:
    def __init__(self, url: str) -> None:
        self.engine = create_engine(url, pool_pre_ping=True)
        metadata.create_all(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    # --- the ingest's batches ------------------------------------------------------------

    def write(self, batch: Sequence[Inbound]) -> Written:
        """Store one batch in one transaction."""
        received = utc_now()
        events, visits, sites = _sort(batch, received)
        with self.engine.begin() as conn:
            new = 0
            if events:
                stmt = _insert(self.engine, hq_events).on_conflict_do_nothing(
                    index_elements=["id"])
                new = conn.execute(stmt, events).rowcount
            if visits:
                stmt = _insert(self.engine, hq_visits)
                fresh = {c.name: stmt.excluded[c.name] for c in hq_visits.c
                         if c.name not in ("site", "visit_id")}
                stmt = stmt.on_conflict_do_update(
                    index_elements=["site", "visit_id"], set_=fresh,
                    where=hq_visits.c.reported <= stmt.excluded.reported)
                conn.execute(stmt, visits)
            if sites:
                self._merge_sites(conn, sites, received)
            for item in batch:
                if isinstance(item, Reply):
                    self._reply(conn, item.message)
        return Written(events=max(new, 0), messages=len(batch))

    def _merge_sites(self, conn: Any, sites: dict[str, dict[str, Any]], received: datetime,
                     ) -> None:
        """Each site's row with what the batch said of it: one read and one write for all
        of them (a batch from 500 sites is 500 rows, not 1,000 round trips)."""
        old = {r["site"]: dict(r) for r in conn.execute(
            select(hq_sites).where(hq_sites.c.site.in_(list(sites)))).mappings()}
        empty = {c.name: None for c in hq_sites.c}
        rows = [_merged({**empty, **old.get(site, {}), "site": site}, news, received)
                for site, news in sites.items()]
        stmt = _insert(self.engine, hq_sites)
        conn.execute(stmt.on_conflict_do_update(
            index_elements=["site"],
            set_={c.name: stmt.excluded[c.name] for c in hq_sites.c if c.name != "site"}), rows)

    @staticmethod
    def _reply(conn: Any, reply: wire.BookingReply) -> None:
        # Only a request head office sent to that site: a reply cannot invent a booking.
        conn.execute(update(hq_bookings).where(
            hq_bookings.c.request_id == reply.request_id, hq_bookings.c.site == reply.site,
        ).values(reply=reply.model_dump(mode="json"), ok=reply.ok, replied_at=reply.at))

    # --- bookings ------------------------------------------------------------------------

    def add_booking(self, request: wire.BookingRequest, site: str, sent_at: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(hq_bookings.insert().values(
                request_id=request.request_id, site=site, requested_by=request.requested_by,
                request=request.model_dump(mode="json"), sent_at=sent_at))

    def booking(self, request_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(hq_bookings).where(
                hq_bookings.c.request_id == request_id)).mappings().first()
        return dict(row) if row is not None else None

    # --- reading -------------------------------------------------------------------------

    def sites(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(hq_sites).order_by(hq_sites.c.site)).mappings().all()
        return [dict(r) for r in rows]

    def search(self, *, q: str = "", site: str | None = None, since: datetime | None = None,
               until: datetime | None = None, limit: int = SEARCH_LIMIT,
               ) -> list[dict[str, Any]]:
        """Visits of every site, soonest first: `q` in the surname or the salutation."""
        stmt = select(hq_visits)
        if q:
            like = f"%{q.replace('%', '').replace('_', '')}%"
            stmt = stmt.where(or_(hq_visits.c.surname.like(like),
                                  hq_visits.c.salutation.like(like)))
        if site:
            stmt = stmt.where(hq_visits.c.site == site)
        if since is not None:
            stmt = stmt.where(hq_visits.c.end >= since)
        if until is not None:
            stmt = stmt.where(hq_visits.c.start < until)
        stmt = stmt.order_by(hq_visits.c.start, hq_visits.c.site).limit(limit)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(stmt).mappings().all()]

    def visit(self, site: str, visit_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(hq_visits).where(
                hq_visits.c.site == site, hq_visits.c.visit_id == visit_id)).mappings().first()
        return dict(row) if row is not None else None

    def count_events(self, site: str | None = None) -> int:
        stmt = select(func.count()).select_from(hq_events)
        if site is not None:
            stmt = stmt.where(hq_events.c.site == site)
        with self.engine.connect() as conn:
            return int(conn.execute(stmt).scalar_one())

    def forget_booking(self, request_id: str) -> None:
        """A request that could not be sent."""
        with self.engine.begin() as conn:
            conn.execute(delete(hq_bookings).where(hq_bookings.c.request_id == request_id))
