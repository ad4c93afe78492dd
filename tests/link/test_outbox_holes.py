"""A hole in the event ids on PostgreSQL: the rows after it wait GAP_S for the missing one
(a transaction that commits it late), then go (another site's id, or a rollback's)."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from controller.link.outbox import GAP_S, EventOutbox
from controller.store.book import VisitBook
from controller.store.database import open_database
from controller.store.events import EventLog
from controller.store.tables import EventRow
from devices.transports.mqtt import MqttSettings, MqttTransport


async def test_rows_after_a_hole_wait_for_it_then_go() -> None:
    db = open_database("sqlite://", "site")
    now = [100.0]
    outbox = EventOutbox(db=db, events=EventLog(db),
                         book=VisitBook(db, tz=ZoneInfo("Asia/Shanghai"), teardown=timedelta(0)),
                         transport=MqttTransport(MqttSettings(host="127.0.0.1")),
                         clock=lambda: now[0], settle=GAP_S)
    try:
        rows = [EventRow(id=i) for i in (3, 4, 6, 7)]
        assert [r.id for r in outbox.ready(2, rows)] == [3, 4]
        now[0] += GAP_S / 2
        assert [r.id for r in outbox.ready(4, rows[2:])] == []
        now[0] += GAP_S / 2
        assert [r.id for r in outbox.ready(4, rows[2:])] == [6, 7]
        assert [r.id for r in outbox.ready(0, [EventRow(id=9)])] == []  # a new hole waits
    finally:
        db.close()
