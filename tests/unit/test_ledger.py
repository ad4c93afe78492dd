"""The executed-steps ledger over a real SQLite file: at most once, even across a restart."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy.exc import IntegrityError

from controller.store.book import VisitBook
from controller.store.database import Database, open_database
from controller.store.ledger import StepLedger, UnclaimedStep
from controller.store.requests import VisitRequest
from tests.unit.booking import NOW, SITE, TEARDOWN


def _visit(db: Database, hour: int) -> str:
    book = VisitBook(db, tz=SITE, teardown=TEARDOWN, clock=lambda: NOW)
    start = NOW.replace(hour=hour)
    return book.book(VisitRequest(surname="王", honorific="先生", start=start), "api").id


def test_claim_is_idempotent_per_visit_and_key(db: Database) -> None:
    first, second = _visit(db, 10), _visit(db, 14)
    ledger = StepLedger(db)
    assert ledger.claim(first, "announce:arrival") is True
    assert ledger.claim(first, "announce:arrival") is False
    assert ledger.claim(second, "announce:arrival") is True  # same step, other visit
    assert ledger.claim(first, "cue:start-45m") is True
    assert ledger.done(first) == {"announce:arrival", "cue:start-45m"}
    assert ledger.done(second) == {"announce:arrival"}


def test_claim_survives_a_restart(url: str) -> None:
    before = open_database(url)
    visit = _visit(before, 10)
    StepLedger(before).claim(visit, "announce:arrival")
    StepLedger(before).mark(visit, "announce:arrival", "ok")
    StepLedger(before).claim(visit, "cue:start-5m")  # claimed, then the process died
    before.close()

    after = open_database(url)
    try:
        ledger = StepLedger(after)
        assert ledger.claim(visit, "announce:arrival") is False
        assert ledger.claim(visit, "cue:start-5m") is False
        assert ledger.results(visit) == {"announce:arrival": "ok", "cue:start-5m": None}
    finally:
        after.close()


def test_mark_records_result_of_claimed_steps_only(db: Database) -> None:
    visit = _visit(db, 10)
    ledger = StepLedger(db)
    ledger.claim(visit, "cue:start-10m")
    ledger.mark(visit, "cue:start-10m", "skipped-late")
    assert ledger.results(visit) == {"cue:start-10m": "skipped-late"}
    ledger.mark(visit, "cue:start-10m", "failed")  # a retry's outcome replaces the first
    assert ledger.results(visit) == {"cue:start-10m": "failed"}
    with pytest.raises(UnclaimedStep):
        ledger.mark(visit, "cue:never", "ok")
    with pytest.raises(ValueError, match="result must be one of"):
        ledger.mark(visit, "cue:start-10m", "fine")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="1 to 200"):
        ledger.claim(visit, "")


def test_claim_for_unknown_visit_is_an_error_not_a_duplicate(db: Database) -> None:
    with pytest.raises(IntegrityError):
        StepLedger(db).claim("v-000000", "announce:arrival")
    assert StepLedger(db).done("v-000000") == set()


def test_racing_claims_exactly_one_wins(url: str, db: Database) -> None:
    visit = _visit(db, 10)
    racers = 6
    barrier = threading.Barrier(racers)
    results: list[bool] = []

    def claim() -> None:
        database = open_database(url)  # each its own engine, like separate processes
        try:
            barrier.wait()
            results.append(StepLedger(database).claim(visit, "announce:arrival"))
        finally:
            database.close()

    threads = [threading.Thread(target=claim) for _ in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert sorted(results) == [False] * (racers - 1) + [True]
