"""Visits over a real database file: P1 overlap rules, moves, the status machine.

Run against SQLite and PostgreSQL (tests/unit/conftest.py).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from controller.store.book import VisitBook
from controller.store.database import open_database
from controller.store.requests import VisitRequest
from controller.store.visits import (
    BookingRefused,
    IllegalTransition,
    UnknownVisit,
    VisitStatus,
)
from tests.unit.booking import NOW, SITE, TEARDOWN, Clock, S, at, request


def test_booking_is_stored_and_read_back(book: VisitBook, url: str) -> None:
    visit = book.book(
        request(
            at(14),
            90,
            full_name="王建国",
            title="集团总裁",
            party_size=3,
            car_plate="沪A·12345",
            notes="prefers green tea",
        ),
        source="api",
    )
    assert re.fullmatch(r"v-[0-9a-f]{6}", visit.id)
    assert (visit.status, visit.source, visit.salutation) == (S.BOOKED, "api", "王先生")
    assert (visit.start, visit.end) == (at(14), at(15, 30))
    assert visit.entered == {S.BOOKED: NOW} and visit.created_at == NOW
    assert book.get(visit.id) == visit
    # A second process (a restart) reads the same visit.
    other = open_database(url)
    try:
        assert VisitBook(other, tz=SITE, teardown=TEARDOWN).get(visit.id) == visit
    finally:
        other.close()


def test_naive_start_means_site_timezone(book: VisitBook) -> None:
    visit = book.book(request(datetime(2026, 11, 20, 14, 0)), source="cli")
    assert visit.start == datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
    assert visit.start.tzinfo == SITE
    validated = VisitRequest.model_validate(
        {"surname": "李", "honorific": "女士", "start": "2026-11-20T16:00"}, context={"tz": SITE}
    )
    assert validated.start == datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def test_overlap_refused_with_colliding_visit_and_next_free(book: VisitBook) -> None:
    first = book.book(request(at(14)), source="api")
    with pytest.raises(BookingRefused) as refused:
        book.book(request(at(14, 30), surname="李"), source="api")
    assert refused.value.collides_with == first.id
    assert refused.value.next_free == at(15, 15)  # end 15:00 + 15 min teardown
    assert first.id in refused.value.reason and "王先生" in refused.value.reason
    assert "14:00" in refused.value.reason
    assert [v.id for v in book.list()] == [first.id]  # nothing stored


def test_next_free_skips_gaps_too_small(book: VisitBook) -> None:
    a = book.book(request(at(10)), source="api")  # occupies 10:00-11:15
    book.book(request(at(12)), source="api")  # 12:00-13:15
    book.book(request(at(13, 15), 45), source="api")  # back to back: 13:15-14:15
    with pytest.raises(BookingRefused) as refused:
        book.book(request(at(10, 30)), source="api")
    # The 45 minutes between 11:15 and 12:00 cannot hold 60 + 15.
    assert refused.value.collides_with == a.id
    assert refused.value.next_free == at(14, 15)
    # ...but they hold exactly 30 + 15.
    assert book.next_free(at(10, 30), timedelta(minutes=30)) == at(11, 15)
    assert book.next_free(at(10, 30), timedelta(minutes=31)) == at(14, 15)
    assert book.next_free(at(16)) == at(16)


def test_back_to_back_exactly_fits(book: VisitBook) -> None:
    book.book(request(at(14)), source="api")
    after = book.book(request(at(15, 15), surname="李"), source="api")
    before = book.book(request(at(12, 45), surname="张"), source="api")  # 13:45 + 15 = 14:00
    assert [v.surname for v in book.list()] == ["张", "王", "李"]
    with pytest.raises(BookingRefused):
        book.book(request(at(16, 29, 59), surname="赵"), source="api")  # into after's teardown
    assert after.start == at(15, 15) and before.end == at(13, 45)


@pytest.mark.parametrize("end_status", [S.CANCELLED, S.NO_SHOW, S.DONE])
def test_finished_visits_free_their_slot(book: VisitBook, end_status: VisitStatus) -> None:
    first = book.book(request(at(14)), source="api")
    if end_status is S.DONE:
        for status in (S.ARRIVED, S.DEPARTING, S.DONE):
            book.set_status(first.id, status)
    else:
        book.set_status(first.id, end_status)
    assert book.book(request(at(14), surname="李"), source="api").start == at(14)


def test_move_into_collision_refused_and_into_free_slot(book: VisitBook, clock: Clock) -> None:
    a = book.book(request(at(10)), source="api")
    b = book.book(request(at(14), surname="李"), source="api")
    with pytest.raises(BookingRefused) as refused:
        book.move(a.id, at(13, 30))
    assert (refused.value.collides_with, refused.value.next_free) == (b.id, at(15, 15))
    assert book.get(a.id).start == at(10)  # unchanged
    clock.now = NOW + timedelta(minutes=5)
    moved = book.move(a.id, at(10, 30), timedelta(minutes=30))  # overlaps only itself
    assert (moved.start, moved.duration, moved.updated_at) == (
        at(10, 30),
        timedelta(minutes=30),
        clock.now,
    )
    # The freed hour can be booked by someone else now.
    assert book.book(request(at(11, 15), surname="张"), source="api").start == at(11, 15)
    with pytest.raises(UnknownVisit):
        book.move("v-000000", at(18))
    with pytest.raises(BookingRefused, match="positive"):
        book.move(a.id, at(18), timedelta(0))
    with pytest.raises(BookingRefused, match="years"):
        book.move(a.id, datetime(9999, 12, 31, 23, tzinfo=SITE))


def test_only_booked_or_preparing_visits_move(book: VisitBook) -> None:
    visit = book.book(request(at(9, 1)), source="vip-now")
    book.set_status(visit.id, S.ARRIVED)
    with pytest.raises(BookingRefused, match="arrived"):
        book.move(visit.id, at(18))


def test_cancel(book: VisitBook, clock: Clock) -> None:
    visit = book.book(request(at(14)), source="api")
    clock.now = NOW + timedelta(minutes=1)
    cancelled = book.cancel(visit.id, "guest delayed flight")
    assert cancelled.status is S.CANCELLED and cancelled.cancel_reason == "guest delayed flight"
    assert cancelled.entered[S.CANCELLED] == clock.now
    with pytest.raises(IllegalTransition) as illegal:
        book.cancel(visit.id, "again")
    assert (illegal.value.from_status, illegal.value.to_status) == (S.CANCELLED, S.CANCELLED)


def test_status_path_records_when_each_was_entered(book: VisitBook, clock: Clock) -> None:
    visit = book.book(request(at(9, 30)), source="api")
    path = [S.PREPARING, S.ARRIVED, S.AT_SHOW_FLAT, S.DEPARTING, S.DONE]
    for minutes, status in enumerate(path, start=1):
        visit = book.set_status(visit.id, status, NOW + timedelta(minutes=minutes))
    assert visit.status is S.DONE
    assert visit.entered == {
        S.BOOKED: NOW,
        **{s: NOW + timedelta(minutes=i) for i, s in enumerate(path, start=1)},
    }
    with pytest.raises(IllegalTransition) as illegal:
        book.cancel(visit.id, "too late")
    assert (illegal.value.from_status, illegal.value.to_status) == (S.DONE, S.CANCELLED)


@pytest.mark.parametrize(
    ("path", "legal"),
    [
        ([S.ARRIVED, S.DEPARTING], True),  # straight from arrival to departure
        ([S.PREPARING, S.CANCELLED], True),
        ([S.PREPARING, S.BOOKED], True),  # moved later after preparation began
        ([S.BOOKED], False),
        ([S.DONE], False),
        ([S.AT_SHOW_FLAT], False),
        ([S.ARRIVED, S.ARRIVED], False),  # a second arrival press is not a transition
        ([S.ARRIVED, S.NO_SHOW], False),
        ([S.NO_SHOW, S.ARRIVED], False),
        ([S.ARRIVED, S.DEPARTING, S.AT_SHOW_FLAT], False),
    ],
)
def test_transition_table(book: VisitBook, path: list[VisitStatus], legal: bool) -> None:
    visit = book.book(request(at(9, 30)), source="api")
    *before, last = path
    for status in before:
        book.set_status(visit.id, status)
    if legal:
        assert book.set_status(visit.id, last).status is last
    else:
        with pytest.raises(IllegalTransition) as illegal:
            book.set_status(visit.id, last)
        assert illegal.value.to_status is last
        assert illegal.value.from_status is (before[-1] if before else S.BOOKED)
        assert book.get(visit.id).status is illegal.value.from_status


def test_past_booking_refused(book: VisitBook) -> None:
    with pytest.raises(BookingRefused, match="in the past") as refused:
        book.book(request(NOW - timedelta(minutes=10)), source="api")
    assert refused.value.next_free == NOW and refused.value.collides_with is None
    # "VIP now" a moment late is fine.
    assert book.book(request(NOW - timedelta(seconds=30)), source="vip-now").status is S.BOOKED
    visit = book.book(request(at(12)), source="api")
    with pytest.raises(BookingRefused, match="in the past"):
        book.move(visit.id, at(8))


def test_list_filters_and_current(book: VisitBook) -> None:
    a = book.book(request(at(9, 30)), source="api")
    b = book.book(request(at(10, 45), surname="李"), source="api")
    c = book.book(request(at(13), surname="张"), source="api")
    assert [v.id for v in book.list()] == [a.id, b.id, c.id]
    assert [v.id for v in book.list(since=at(10), until=at(13))] == [b.id]
    assert book.current() is None
    book.set_status(a.id, S.PREPARING)
    assert book.current() == book.get(a.id)
    # a's guest is leaving while b is being prepared: a is still the current visit.
    for status in (S.ARRIVED, S.DEPARTING):
        book.set_status(a.id, status)
    book.set_status(b.id, S.PREPARING)
    assert book.current(at(10, 40)) == book.get(a.id)
    assert [v.id for v in book.list(statuses=[S.PREPARING])] == [b.id]
    book.set_status(a.id, S.DONE)
    assert book.current() == book.get(b.id)
