"""The book's visits in memory (VisitBook keeps the open ones) and the deferred writes
(Database.defer) agree with the database, and a refused write never loses a deferred one."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from controller.store.book import VisitBook
from controller.store.database import Database, open_database
from controller.store.ledger import StepLedger
from controller.store.requests import VisitRequest
from controller.store.tables import VisitRow
from controller.store.visits import OPEN, BookingRefused, VisitStatus

SITE = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=SITE)
S = VisitStatus


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_database(f"sqlite:///{tmp_path / 'vipctl.db'}")
    yield database
    database.close()


def book_of(db: Database) -> VisitBook:
    return VisitBook(db, tz=SITE, teardown=timedelta(minutes=15), clock=lambda: NOW)


def request(start: datetime, surname: str = "王") -> VisitRequest:
    return VisitRequest.model_validate({"surname": surname, "honorific": "先生",
                                        "start": start, "duration": 60})


def test_memory_matches_a_fresh_read_after_every_kind_of_change(db: Database) -> None:
    book = book_of(db)
    book.load()  # the memory, kept up to date by the changes below
    visits = [book.book(request(NOW + timedelta(hours=2 * k), f"客{k}"), "test")
              for k in range(6)]
    book.set_status(visits[0].id, S.PREPARING)
    book.set_status(visits[0].id, S.ARRIVED, at=NOW - timedelta(minutes=30))  # early guest
    book.set_status(visits[1].id, S.PREPARING, defer=True)
    book.cancel(visits[2].id, "guest ill")
    book.move(visits[3].id, NOW + timedelta(hours=30))
    book.set_status(visits[4].id, S.NO_SHOW)
    fresh = book_of(db)  # its memory not loaded: answers from the database
    for statuses in (OPEN, {S.ARRIVED, S.AT_SHOW_FLAT}, {S.BOOKED, S.PREPARING}, {S.CANCELLED}):
        assert book.list(statuses=statuses) == fresh.list(statuses=statuses)
    window = {"since": NOW + timedelta(hours=3), "until": NOW + timedelta(hours=40)}
    assert book.list(**window, statuses=OPEN) == fresh.list(**window, statuses=OPEN)
    assert [v.id for v in book.list(statuses=OPEN)] == [
        visits[0].id, visits[1].id, visits[5].id, visits[3].id]
    assert book.get(visits[0].id).start == NOW - timedelta(minutes=30)  # on site since
    assert book.get(visits[2].id).cancel_reason == "guest ill"  # over: from the database


def test_the_open_visits_are_read_when_first_needed_then_kept_by_the_books_writes(
    db: Database,
) -> None:
    book, other = book_of(db), book_of(db)
    first = book.book(request(NOW + timedelta(hours=2), "甲"), "test")
    second = other.book(request(NOW + timedelta(hours=4), "乙"), "test")  # another writer
    # Not read yet: every answer from the database, another writer's bookings included.
    assert [v.id for v in book.list(statuses=OPEN)] == [first.id, second.id]
    book.set_status(first.id, S.PREPARING, defer=True)  # waiting for the deferred commit
    assert book.get(first.id).status is S.PREPARING
    assert book.current() == book.get(first.id)
    # A press looking for its visit reads them: from then on the book answers from memory,
    # which its own writes keep up to date and another writer's do not reach.
    assert book.nearest(NOW, ahead=timedelta(hours=3), statuses=OPEN) == book.get(first.id)
    third = other.book(request(NOW + timedelta(hours=6), "丙"), "test")
    book.cancel(second.id, "改期")
    assert [v.id for v in book.list(statuses=OPEN)] == [first.id]
    book.reload()
    assert [v.id for v in book.list(statuses=OPEN)] == [first.id, third.id]
    assert book.list(statuses=OPEN) == book_of(db).list(statuses=OPEN)


def test_nearest_waiting_visit_for_an_arrival(db: Database) -> None:
    book = book_of(db)
    soon = book.book(request(NOW + timedelta(minutes=40), "近"), "test")
    later = book.book(request(NOW + timedelta(hours=3), "远"), "test")
    waiting = (S.BOOKED, S.PREPARING)
    assert book.nearest(NOW, ahead=timedelta(hours=2), statuses=waiting) == soon
    assert book.nearest(NOW, ahead=timedelta(minutes=30), statuses=waiting) is None
    # Under way (started, not over) counts, and the nearer start wins.
    assert book.nearest(NOW + timedelta(minutes=90), ahead=timedelta(hours=2),
                        statuses=waiting) == soon  # started 50 min ago; later in 90
    after_soon = NOW + timedelta(minutes=105)  # soon is over (40 + 60 min)
    assert book.nearest(after_soon, ahead=timedelta(hours=2), statuses=waiting) == later
    book.set_status(later.id, S.CANCELLED)
    assert book.nearest(after_soon, ahead=timedelta(hours=2), statuses=waiting) is None


def test_deferred_writes_reach_the_database_before_any_read(db: Database) -> None:
    book, ledger = book_of(db), StepLedger(db)
    visit = book.book(request(NOW + timedelta(hours=1)), "test")
    book.set_status(visit.id, S.PREPARING, defer=True)
    assert ledger.claim(visit.id, "f1-arrival", defer=True)
    assert not ledger.claim(visit.id, "f1-arrival")  # known in memory, no query
    with db.read() as session:
        assert session.scalar(select(VisitRow.status).where(VisitRow.id == visit.id)) \
            == "preparing"
    assert StepLedger(db).done(visit.id) == {"f1-arrival"}


async def test_a_refused_booking_does_not_take_deferred_writes_with_it(db: Database) -> None:
    book = book_of(db)
    first = book.book(request(NOW + timedelta(hours=1)), "test")
    book.set_status(first.id, S.PREPARING, defer=True)  # still waiting for its timer
    with pytest.raises(BookingRefused):
        book.book(request(NOW + timedelta(hours=1), "李"), "test")  # overlaps: rolled back
    assert book_of(db).get(first.id).status is S.PREPARING
