"""The SQLite settings every connection gets: WAL, commits synced at checkpoints, and the
commits that carry a claim (a step's, a visit's status) synced at once (issue 12)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from controller.store.book import VisitBook
from controller.store.database import Database, open_database
from controller.store.events import EventLog
from controller.store.ledger import StepLedger
from controller.store.requests import VisitRequest
from controller.store.visits import VisitStatus
from tests.unit.booking import NOW, SITE, TEARDOWN

# PRAGMA synchronous reads back as a number: 1 is NORMAL, 2 is FULL.
NORMAL, FULL = 1, 2


def test_every_connection_is_wal_with_normal_sync(tmp_path: Path) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'v.db'}")
    try:
        with db.engine.connect() as a, db.engine.connect() as b:
            for conn in (a, b):
                assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
                assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == NORMAL
    finally:
        db.close()


@dataclass
class Commits:
    """Every commit on the engine: what it wrote ("insert visits"), and SQLite's synchronous
    level at that moment, read from the connection itself inside the transaction."""

    done: list[tuple[frozenset[str], int]] = field(default_factory=list)
    _tables: set[str] = field(default_factory=set)

    def statement(self, conn: Any, cursor: Any, sql: str, *args: Any) -> None:
        words = sql.split()
        if words[:2] == ["INSERT", "INTO"]:
            self._tables.add(f"insert {words[2]}")
        elif words[:1] == ["UPDATE"]:
            self._tables.add(f"update {words[1]}")

    def commit(self, conn: Any) -> None:
        level = conn.connection.dbapi_connection.execute("PRAGMA synchronous").fetchone()[0]
        if self._tables:
            self.done.append((frozenset(self._tables), level))
        self._tables = set()

    def levels(self, write: str) -> set[int]:
        return {level for tables, level in self.done if write in tables}


@pytest.fixture
def watched(tmp_path: Path) -> Iterator[tuple[Database, Commits]]:
    db = open_database(f"sqlite:///{tmp_path / 'v.db'}")
    commits = Commits()
    event.listen(db.engine, "before_cursor_execute", commits.statement)
    event.listen(db.engine, "commit", commits.commit)
    yield db, commits
    db.close()


async def test_claims_and_statuses_commit_with_full_sync_the_rest_normal(
    watched: tuple[Database, Commits],
) -> None:
    db, commits = watched
    book = VisitBook(db, tz=SITE, teardown=TEARDOWN, clock=lambda: NOW)
    ledger, events = StepLedger(db), EventLog(db)
    visit = book.book(VisitRequest(surname="王", honorific="先生", start=NOW.replace(hour=10)),
                      "api").id
    events.append("cue", visit_id=visit, result="started")
    ledger.claim(visit, "p7-fountain")  # a scheduled cue: its own commit
    ledger.mark(visit, "p7-fountain", "ok")
    db.flush_deferred()  # a result alone
    # A press: its status and the claims it sets off, deferred, one commit with an event.
    book.set_status(visit, VisitStatus.PREPARING)
    book.set_status(visit, VisitStatus.ARRIVED, defer=True)
    ledger.claim(visit, "f1-arrival", defer=True)
    events.append_soon("trigger", visit_id=visit, result="ok")
    ledger.commit()
    events.append("alert", visit_id=visit, result="failed")
    # Every claim and every status change committed with FULL...
    assert commits.levels("insert executed_steps") == {FULL}
    assert commits.levels("update visits") == {FULL}
    press = {"insert executed_steps", "insert visit_status_history", "insert events"}
    assert any(press <= tables for tables, _ in commits.done), "the press in one commit"
    # ...and everything else with NORMAL: the booking, a result alone, the events alone.
    normal = [tables for tables, level in commits.done if level == NORMAL]
    assert {"insert visits", "update schedule_lock"} <= normal[0]  # the booking (and its
    # first status, "booked": no trigger's)
    assert frozenset({"update executed_steps"}) in normal
    assert frozenset({"insert events"}) in normal
    # ... and the connection is back at NORMAL after a durable commit.
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == NORMAL
