"""Deferred writes are committed by the writer thread, off the loop; what follows a commit
(feeding the event stream) still runs on the loop, in the order the writes were made."""

from __future__ import annotations

import asyncio
import threading

from sqlalchemy import select

from controller.store.database import DEFER_S, Database
from controller.store.events import EventLog
from controller.store.tables import EventRow
from tests.waiting import eventually


def stored(db: Database) -> list[str | None]:
    with db.engine.connect() as conn:
        return [d for (d,) in conn.execute(select(EventRow.device_id).order_by(EventRow.id))]


async def test_the_timer_commits_in_the_writer_thread_and_feeds_on_the_loop(
        db: Database) -> None:
    committers: list[str] = []
    db.defer(lambda session: committers.append(threading.current_thread().name))
    after_threads: list[str] = []
    db.defer(lambda session: None, after=lambda: after_threads.append(
        threading.current_thread().name))
    await eventually(lambda: after_threads, timeout=DEFER_S * 200)
    assert committers[0].startswith("db-writer")
    assert after_threads == [threading.main_thread().name]


async def test_events_are_fed_in_order_across_writer_and_loop_commits(db: Database) -> None:
    log = EventLog(db)
    seen: list[str | None] = []
    async with log.subscribe() as feed:
        for n in range(50):
            log.append_soon("command", device_id=f"a{n:02d}")
        await asyncio.sleep(DEFER_S * 3)  # the writer thread may be committing them now
        log.append("cue", device_id="b", result="ok")  # on the loop, after them
        for n in range(50):
            log.append_soon("command", device_id=f"c{n:02d}")
        while len(seen) < 101:
            seen.append((await asyncio.wait_for(feed.__anext__(), 5)).device_id)
    expected = [f"a{n:02d}" for n in range(50)] + ["b"] + [f"c{n:02d}" for n in range(50)]
    assert seen == expected
    assert stored(db) == expected


async def test_close_commits_what_the_timer_had_not(db: Database) -> None:
    log = EventLog(db)
    for n in range(20):
        log.append_soon("command", device_id=f"d{n:02d}")
    db.close()
    assert stored(db) == [f"d{n:02d}" for n in range(20)]
