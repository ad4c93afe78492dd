"""The site's event log, sent to head office: every row once, in order, from a cursor.

The cursor (the id of the last row whose publish the broker acknowledged) is kept in the
database's kv store, so a restarted daemon goes on where it stopped. A crash between an
acknowledged publish and the cursor's save sends those rows again: receivers dedupe by
the message id "<site>:<row id>". Nothing here waits on a visit, nor a visit on it: it
runs as its own task, reads in batches in the database's reader thread, and while the
broker is away it waits for the connection (the bridge's queue carries the rest).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from controller.link.encoding import to_json
from controller.link.wire import EventMessage, VisitSnapshot, events_topic
from controller.store.book import VisitBook
from controller.store.database import Database
from controller.store.events import EventLog
from controller.store.tables import EventRow
from controller.store.visits import Visit
from devices.transports.mqtt import MqttTransport, TransportUnavailable

log = logging.getLogger(__name__)

CURSOR_KEY = "link:events_sent"
# Rows read and published at once: one read transaction and one cursor save per batch.
BATCH = 200
# Re-read this often even without a new event (seconds): the live feed is only a doorbell.
POLL_S = 1.0
# After the doorbell, wait this long (seconds) for the rest of a burst before reading.
COALESCE_S = 0.05
# On PostgreSQL ids come from a sequence when a row is inserted, not when it is committed:
# a row with a lower id can become visible after a higher one (two transactions of the
# daemon's, from the loop and from a worker thread). A row after a hole in the ids waits
# this long (seconds) for the hole to fill before it is sent; a hole that stays is an id
# of another site (one sequence for all sites sharing the database) or of a rolled-back
# insert. SQLite assigns and commits ids under one write lock, in order: no wait there.
GAP_S = 2.0
# How long one publish may wait for the connection before the batch is tried again.
PUBLISH_TIMEOUT_S = 5.0

Monotonic = Callable[[], float]


def _rows(session: Session, *, site_id: str, after: int, book: VisitBook,
          ) -> tuple[list[EventRow], dict[str, Visit]]:
    rows = list(session.scalars(
        select(EventRow).where(EventRow.site_id == site_id, EventRow.id > after)
        .order_by(EventRow.id).limit(BATCH)))
    visits = book.read_many(session, (r.visit_id for r in rows if r.visit_id))
    return rows, visits


def message(site_id: str, row: EventRow, visit: Visit | None) -> EventMessage:
    return EventMessage(
        id=f"{site_id}:{row.id}", site=site_id, seq=row.id, at=row.at, kind=row.kind,
        visit_id=row.visit_id, source=row.source, device_id=row.device_id, result=row.result,
        detail=row.detail or {}, visit=None if visit is None else VisitSnapshot.of(visit))


class EventOutbox:
    """Publishes the event log on vipctl/<site>/events (QoS 1, not retained)."""

    def __init__(self, *, db: Database, events: EventLog, book: VisitBook,
                 transport: MqttTransport, clock: Monotonic | None = None,
                 settle: float | None = None) -> None:
        self._db = db
        self._events = events
        self._book = book
        self._transport = transport
        self._clock = clock or asyncio.get_running_loop().time
        self._topic = events_topic(db.site_id)
        self._settle = (GAP_S if db.dialect == "postgresql" else 0.0) if settle is None \
            else settle
        self._seen: dict[int, float] = {}  # when a row after a hole was first read
        self.sent = 0  # messages acknowledged by the broker since start (status, tests)

    def cursor(self) -> int:
        value = self._db.load_value(CURSOR_KEY)
        return int(value["id"]) if value else 0

    async def run(self) -> None:
        cursor = self.cursor()
        async with self._events.subscribe(maxsize=1) as doorbell:
            while True:
                rows, visits = await self._db.read_off_loop(
                    functools.partial(_rows, site_id=self._db.site_id, after=cursor,
                                      book=self._book))
                ready = self.ready(cursor, rows)
                if ready:
                    await self._send([message(self._db.site_id, r, visits.get(r.visit_id or ""))
                                      for r in ready])
                    cursor = ready[-1].id
                    # With the daemon's next deferred writes: no commit of its own.
                    self._db.defer(functools.partial(self._db.save_value, CURSOR_KEY,
                                                     {"id": cursor}))
                    if len(ready) == BATCH:
                        continue  # more are waiting: no pause between batches
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(anext(doorbell), POLL_S)
                    # A burst (a scene's commands and their confirmations) is one batch: one
                    # read, one round of publishes, not one per event.
                    await asyncio.sleep(COALESCE_S)

    def ready(self, cursor: int, rows: Sequence[EventRow]) -> list[EventRow]:
        """The rows that may go now: in order, up to the first one after a hole in the ids
        that has not waited `settle` since it was first read."""
        now = self._clock()
        ready: list[EventRow] = []
        expected = cursor + 1
        for row in rows:
            if row.id != expected and now - self._seen.setdefault(row.id, now) < self._settle:
                break
            ready.append(row)
            expected = row.id + 1
        for row_id in [i for i in self._seen if i < expected]:
            del self._seen[row_id]
        return ready

    async def _send(self, messages: list[EventMessage]) -> None:
        """Publish them all, in order; return once the broker has acknowledged every one.
        While the broker is away, wait for it and send the whole batch again."""
        payloads = [to_json(m) for m in messages]
        while True:
            # Issued in order (paho keeps its queue in order), acknowledged together; every
            # one is awaited, so a retry never overlaps a publish still in flight.
            results = await asyncio.gather(*(self._publish(p) for p in payloads),
                                           return_exceptions=True)
            failed = [r for r in results if isinstance(r, BaseException)]
            if not failed:
                self.sent += len(payloads)
                return
            if not all(isinstance(r, TransportUnavailable) for r in failed):
                raise failed[0]
            log.info("link: %d of %d events not acknowledged (%s); sending them again when "
                     "the broker is back", len(failed), len(payloads), failed[0])
            await self._transport.connected.wait()

    async def _publish(self, payload: bytes) -> None:
        await self._transport.publish(self._topic, payload, qos=1, retain=False,
                                      timeout=PUBLISH_TIMEOUT_S)
