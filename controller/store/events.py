"""The event log: everything vipctl does, in the database, and live to subscribers.

`query` pages newest first: pass the smallest id of a page as `before_id` for the next,
older page. `subscribe` gives a live feed (for server-sent events): each subscriber has a
bounded queue; a slow one loses its oldest events, counted in `dropped`, and `append`
never waits for anyone.

`append_soon` is for bursts and hot paths (a command to 200 lights is 400 device events):
the event is written a moment later (COALESCE_S), with the others that came meanwhile, in
one transaction, and always before any later `append` or `query`, so the log keeps its
order; a crash may lose those last milliseconds of events.

`detail` is stored as JSON and shown to anyone who can read the log: callers must never
put secrets in it (passwords, tokens, broker credentials). As a last safety net, values
under keys that look like secrets are replaced by REDACTED.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import threading
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from types import TracebackType
from typing import Any, Self, cast

from sqlalchemy import Select, Table, insert, select
from sqlalchemy.orm import Session

from controller.store.database import DEFER_S, Database
from controller.store.tables import Clock, EventRow, to_utc, utc_now

log = logging.getLogger(__name__)

# The kinds the rest of vipctl writes; anything else is a typo that would hide an event
# from every filter, so it is refused.
EVENT_KINDS = frozenset(
    {
        "trigger",
        "cue",
        "command",
        "confirmed",
        "retry",
        "failed",
        "hold_reasserted",
        "announcement",
        "media",  # a player failed, or plays again (controller/engine/media_watch.py)
        "restore",
        "visit",
        "availability",
        "alert",
        "garbage",
        "preflight",  # device checks before a visit (controller/engine/preflight.py)
        "walk_in",  # a customer without a booking (P1)
    }
)
_TABLE = cast(Table, EventRow.__table__)
_INSERT = insert(_TABLE).returning(_TABLE.c.id, sort_by_parameter_order=True)
_FIELDS = ("at", "kind", "visit_id", "source", "device_id", "result")
_RAW = "_raw"  # marks an append_soon row whose detail is not yet JSON
MAX_PAGE = 1000  # the largest `limit` a query may ask for
_VISITS_PER_QUERY = 500  # visit ids per IN (...): within every database's limit
# append_soon writes this late at most (seconds), with whatever else came meanwhile: a burst
# of device events (200 lights commanded, then confirming) becomes a few transactions.
COALESCE_S = DEFER_S
DEFAULT_QUEUE = 256  # events a subscriber may fall behind before losing the oldest
REDACTED = "REDACTED"
_SECRET_WORDS = ("password", "passwd", "secret", "token", "api_key", "apikey", "credential")
_SECRET = re.compile("|".join(_SECRET_WORDS))


@dataclass(frozen=True, slots=True)
class Event:
    id: int
    at: datetime  # aware, UTC
    kind: str
    visit_id: str | None = None
    source: str | None = None
    device_id: str | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)
    result: str | None = None


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    raise TypeError(f"{type(value).__name__} in an event detail is not JSON")


def _redact(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: REDACTED
            if _SECRET.search(str(key).lower())
            else _redact(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_redact(item) for item in value]
    return value


def _event(row: EventRow) -> Event:
    return Event(
        id=row.id,
        at=row.at,
        kind=row.kind,
        visit_id=row.visit_id,
        source=row.source,
        device_id=row.device_id,
        detail=row.detail or {},
        result=row.result,
    )


class Subscription:
    """A live feed of events: `async with log.subscribe() as feed: async for e in feed`."""

    def __init__(self, log: EventLog, maxsize: int) -> None:
        self._log = log
        self.loop = asyncio.get_running_loop()  # the loop that reads it
        self._queue: asyncio.Queue[Event] = asyncio.Queue(maxsize)
        self.dropped = 0  # events lost because this subscriber fell behind

    def offer(self, event: Event) -> None:
        """Runs on the subscriber's loop; drops the oldest event rather than wait."""
        if self._queue.full():
            self._queue.get_nowait()
            self.dropped += 1
        self._queue.put_nowait(event)

    def close(self) -> None:
        self._log.unsubscribe(self)

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> Event:
        return await self._queue.get()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class EventLog:
    def __init__(self, db: Database, *, clock: Clock = utc_now) -> None:
        self._db = db
        self._clock = clock
        # Weak: a subscriber that stopped reading without closing is forgotten with it.
        self._subscribers: weakref.WeakSet[Subscription] = weakref.WeakSet()
        self._lock = threading.Lock()  # append may come from a worker thread
        self._pending: list[dict[str, Any]] = []  # append_soon's rows, not written (_lock)
        self._written: list[Event] = []  # written, not yet handed to subscribers (_lock)

    def append(
        self,
        kind: str,
        *,
        visit_id: str | None = None,
        source: str | None = None,
        device_id: str | None = None,
        detail: Mapping[str, Any] | None = None,
        result: str | None = None,
        at: datetime | None = None,
    ) -> Event:
        """Write one event and hand it to every subscriber. Never put secrets in `detail`."""
        row = self._row(kind, visit_id, source, device_id, detail, result, at)
        return self._write([row])[-1]

    def append_soon(
        self,
        kind: str,
        *,
        visit_id: str | None = None,
        source: str | None = None,
        device_id: str | None = None,
        detail: Mapping[str, Any] | None = None,
        result: str | None = None,
    ) -> None:
        """As `append`, but written within COALESCE_S, with the others that came meanwhile.

        Only the kind is checked now; the detail (copied) is made JSON when written, off
        the hot path it is called from."""
        if kind not in EVENT_KINDS:
            raise ValueError(f"unknown event kind {kind!r}")
        row = {"at": to_utc(self._clock()), "kind": kind, "visit_id": visit_id,
               "source": source, "device_id": device_id, "detail": dict(detail or {}),
               "result": result, _RAW: True}
        with self._lock:
            self._pending.append(row)
            first = len(self._pending) == 1
        if first:
            # With the database's other deferred writes, after the commands published
            # meanwhile have left; then handed to the subscribers.
            self._db.defer(self._insert_pending, self._deliver_written)

    def _row(self, kind: str, visit_id: str | None, source: str | None, device_id: str | None,
             detail: Mapping[str, Any] | None, result: str | None, at: datetime | None,
             ) -> dict[str, Any]:
        if kind not in EVENT_KINDS:
            raise ValueError(f"unknown event kind {kind!r}")
        return self._stored({"at": to_utc(self._clock() if at is None else at), "kind": kind,
                             "visit_id": visit_id, "source": source, "device_id": device_id,
                             "detail": detail, "result": result})

    @staticmethod
    def _stored(row: dict[str, Any]) -> dict[str, Any]:
        # Round-trip through JSON, so the caller gets back exactly what a query will.
        try:
            stored = _redact(json.loads(json.dumps(dict(row["detail"] or {}),
                                                   default=_jsonable)))
        except (TypeError, ValueError):
            if not row.get(_RAW):
                raise  # append: the caller hears of it
            # append_soon's caller is gone: keep the event, and the others written with it.
            log.exception("a %s event's detail is not JSON", row["kind"])
            stored = {"message": "detail not JSON", "repr": repr(row["detail"])[:500]}
        return {**{k: v for k, v in row.items() if k != _RAW}, "detail": stored or None}

    def flush(self) -> None:
        """Write what append_soon holds now (at shutdown); never raises."""
        try:
            self._db.flush_deferred()
        except Exception:  # at shutdown nobody can retry: say what was lost, and why
            log.exception("could not write %d events", len(self._pending))

    def _insert_pending(self, session: Session) -> None:
        with self._lock:
            rows, self._pending = self._pending, []
        written = self._insert(session, rows)
        with self._lock:
            self._written += written

    def _deliver_written(self) -> None:
        with self._lock:
            events, self._written = self._written, []
        self._deliver_all(events)

    def _insert(self, session: Session, rows: list[dict[str, Any]]) -> list[Event]:
        if not rows:
            return []
        rows = [self._stored(row) if row.get(_RAW) else row for row in rows]
        site = {"site_id": self._db.site_id}
        # One INSERT for them all (SQLAlchemy's insertmanyvalues), ids back in order.
        ids = session.execute(_INSERT, [{**row, **site} for row in rows]).scalars().all()
        return [Event(id=i, detail=row["detail"] or {}, **{k: row[k] for k in _FIELDS})
                for i, row in zip(ids, rows, strict=True)]

    def _write(self, rows: list[dict[str, Any]]) -> list[Event]:
        """`rows` in one transaction, after what append_soon holds (Database.write)."""
        with self._db.write() as session:
            events = self._insert(session, rows)
        self._deliver_all(events)
        return events

    def _deliver_all(self, events: list[Event]) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for event in events:
            for subscriber in subscribers:
                self._deliver(subscriber, event)

    def query(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        visit_id: str | None = None,
        kinds: Iterable[str] | None = None,
        device_id: str | None = None,
        limit: int = 100,
        before_id: int | None = None,
    ) -> list[Event]:
        """Events with since <= at < until, newest first, at most `limit` of them."""
        query = self._query(since, until, visit_id, kinds, device_id, limit, before_id)
        with self._db.read() as session:
            return [_event(row) for row in session.scalars(query)]

    def of_visits(self, visit_ids: Iterable[str], kinds: Iterable[str]) -> list[Event]:
        """Every event of these kinds of these visits, oldest first (at start-up, for what
        the open visits' past says, in one query per 500 visits rather than one each)."""
        wanted, kinds = list(visit_ids), list(kinds)
        found: list[Event] = []
        for start in range(0, len(wanted), _VISITS_PER_QUERY):
            query = (select(EventRow).where(
                EventRow.site_id == self._db.site_id,
                EventRow.visit_id.in_(wanted[start:start + _VISITS_PER_QUERY]),
                EventRow.kind.in_(kinds)).order_by(EventRow.id))
            with self._db.read() as session:
                found += [_event(row) for row in session.scalars(query)]
        found.sort(key=lambda e: e.id)
        return found

    async def page(
        self,
        *,
        since: datetime | None = None,
        visit_id: str | None = None,
        kinds: Iterable[str] | None = None,
        device_id: str | None = None,
        limit: int = 100,
        before_id: int | None = None,
    ) -> list[Event]:
        """As `query`, read in the database's reader thread, off the event loop (a page
        of a thousand events takes milliseconds to build)."""
        query = self._query(since, None, visit_id, kinds, device_id, limit, before_id)
        return await self._db.read_off_loop(
            lambda session: [_event(row) for row in session.scalars(query)])

    async def after(
        self,
        after_id: int,
        *,
        visit_id: str | None = None,
        kinds: Iterable[str] | None = None,
        device_id: str | None = None,
        limit: int = MAX_PAGE,
    ) -> list[Event]:
        """Events with an id above `after_id`, oldest first, at most `limit`: what a live
        feed missed while it was away (SSE's Last-Event-ID), read off the event loop."""
        query = (self._query(None, None, visit_id, kinds, device_id, limit, None)
                 .order_by(None).order_by(EventRow.id.asc()).where(EventRow.id > after_id))
        return await self._db.read_off_loop(
            lambda session: [_event(row) for row in session.scalars(query)])

    def _query(self, since: datetime | None, until: datetime | None, visit_id: str | None,
               kinds: Iterable[str] | None, device_id: str | None, limit: int,
               before_id: int | None) -> Select[EventRow]:
        if not 1 <= limit <= MAX_PAGE:
            raise ValueError(f"limit must be 1 to {MAX_PAGE}")
        query = (select(EventRow).where(EventRow.site_id == self._db.site_id)
                 .order_by(EventRow.id.desc()).limit(limit))
        if since is not None:
            query = query.where(EventRow.at >= to_utc(since))
        if until is not None:
            query = query.where(EventRow.at < to_utc(until))
        if visit_id is not None:
            query = query.where(EventRow.visit_id == visit_id)
        if kinds is not None:
            query = query.where(EventRow.kind.in_(list(kinds)))
        if device_id is not None:
            query = query.where(EventRow.device_id == device_id)
        if before_id is not None:
            query = query.where(EventRow.id < before_id)
        return query

    def subscribe(self, maxsize: int = DEFAULT_QUEUE) -> Subscription:
        """A live feed from now on; call inside the event loop that will read it."""
        subscription = Subscription(self, maxsize)
        with self._lock:
            self._subscribers.add(subscription)
        return subscription

    @property
    def subscribers(self) -> int:
        """Live feeds open now (the API caps them; a feed left open is a leak)."""
        with self._lock:
            return len(self._subscribers)

    def unsubscribe(self, subscription: Subscription) -> None:
        with self._lock:
            self._subscribers.discard(subscription)

    @staticmethod
    def _deliver(subscriber: Subscription, event: Event) -> None:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is subscriber.loop:
            subscriber.offer(event)
            return
        try:
            subscriber.loop.call_soon_threadsafe(subscriber.offer, event)
        except RuntimeError:  # its loop has closed: nobody will ever read it
            subscriber.close()
