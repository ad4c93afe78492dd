"""append_soon: device events written a moment later, together, and never out of order."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from controller.store.database import Database
from controller.store.events import COALESCE_S, EventLog
from controller.store.tables import EventRow
from tests.waiting import eventually


def stored(db: Database) -> list[tuple[int, str, str | None]]:
    """What is in the table itself (db.read() and query() write what is deferred first)."""
    with db.engine.connect() as conn:
        rows = conn.execute(select(EventRow.id, EventRow.kind, EventRow.device_id)
                            .order_by(EventRow.id))
        return [(i, kind, device) for i, kind, device in rows]


async def test_written_together_after_a_moment_and_fed_live(db: Database) -> None:
    log = EventLog(db)
    async with log.subscribe() as feed:
        for n in range(200):
            log.append_soon("command", device_id=f"light_{n:03d}", detail={"power": True})
        assert stored(db) == []  # nothing yet: the commands go out first
        await eventually(lambda: stored(db), timeout=COALESCE_S * 50)  # then all together
        assert [device for _, _, device in stored(db)] == [f"light_{n:03d}" for n in range(200)]
        first = await asyncio.wait_for(feed.__anext__(), 1)
    assert (first.kind, first.device_id, first.detail) == ("command", "light_000",
                                                           {"power": True})


async def test_a_later_append_or_query_keeps_the_order(db: Database) -> None:
    log = EventLog(db)
    log.append_soon("command", device_id="hall_lights")
    log.append_soon("confirmed", device_id="hall_lights", result="ok")
    cue = log.append("cue", visit_id=None, detail={"cue": "p2-p9-lights"}, result="ok")
    assert [kind for _, kind, _ in stored(db)] == ["command", "confirmed", "cue"]
    assert cue.id == stored(db)[-1][0]
    log.append_soon("failed", device_id="hall_lights", result="failed")
    assert [e.kind for e in log.query()] == ["failed", "cue", "confirmed", "command"]


async def test_flush_writes_what_is_held(db: Database) -> None:
    log = EventLog(db)
    log.append_soon("availability", device_id="spotlights", detail={"available": False})
    log.flush()
    assert stored(db)[0][1:] == ("availability", "spotlights")


def test_without_an_event_loop_it_is_written_at_once(db: Database) -> None:
    log = EventLog(db)
    log.append_soon("garbage", device_id="spotlights", detail={"topic": "stat/x/RESULT"})
    assert stored(db)[0][1:] == ("garbage", "spotlights")


async def test_unknown_kinds_are_refused_at_once(db: Database) -> None:
    with pytest.raises(ValueError, match="unknown event kind"):
        EventLog(db).append_soon("comand", device_id="x")
