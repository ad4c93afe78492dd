"""Visit requests: names as data, what is refused and why, racing bookings, guests early
and late. On SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
from pydantic import ValidationError

from controller.store.book import VisitBook
from controller.store.database import Database, open_database
from controller.store.requests import VisitRequest
from controller.store.visits import (
    BookingRefused,
    Visit,
)
from tests.unit.booking import NOW, SITE, TEARDOWN, Clock, S, at, request

NAMES = ["O'N\"/+#😀", "王/\\+#", "👨\u200d👩\u200d👧"]


@pytest.mark.parametrize("surname", NAMES)
def test_names_are_data(book: VisitBook, url: str, surname: str) -> None:
    full = 'Seán O\'Brien-"Jr." / 王 + #1 😀'
    notes = "line one\nline two: 'quotes' \"double\" \\ / + # 🍵"
    visit = book.book(
        request(at(14), surname=surname, full_name=full, notes=notes, title="集团总裁"),
        source="api",
    )
    other = open_database(url)
    try:
        stored = VisitBook(other, tz=SITE, teardown=TEARDOWN).get(visit.id)
    finally:
        other.close()
    assert (stored.surname, stored.full_name, stored.notes) == (surname, full, notes)
    assert stored.salutation == f"{surname}先生"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("surname", "王\n", "line break"),
        ("surname", "王\u2028李", "line break"),
        ("surname", "王 李", "whitespace"),
        ("surname", "", "at least 1"),
        ("surname", "一二三四五六七八九", "at most 8"),
        ("surname", "王\u202e", "control character"),
        ("honorific", "董事长先生", "at most 4"),
        ("full_name", "王\r\n建国", "line break"),
        ("notes", "x" * 501, "at most 500"),
        ("notes", "a\x00b", "control character"),
        ("party_size", 0, "greater than or equal to 1"),
        ("party_size", 51, "less than or equal to 50"),
        ("duration", 0, "positive"),
        ("duration", 12 * 60 + 1, "at most"),
        ("duration", True, "boolean"),
        ("car_plate", "·-", "letters or digits"),
        ("colour", "red", "Extra inputs"),
        ("start", "9999-12-31T23:00:00", "years"),
    ],
)
def test_bad_requests_refused_with_reason(field: str, value: object, message: str) -> None:
    data = {"surname": "王", "honorific": "先生", "start": NOW, field: value}
    with pytest.raises(ValidationError) as refused:
        VisitRequest.model_validate(data)
    assert message in str(refused.value) and field in str(refused.value)


def test_request_defaults_and_duration_forms() -> None:
    plain = VisitRequest(surname=" 王 ", honorific="总", start=NOW, car_plate="")
    assert (plain.surname, plain.party_size, plain.duration, plain.car_plate) == (
        "王",
        1,
        timedelta(minutes=60),
        None,
    )
    for given, expected in [(90, 90), ("45", 45), ("PT2H", 120), (timedelta(minutes=5), 5)]:
        parsed = VisitRequest.model_validate(
            {"surname": "王", "honorific": "总", "start": NOW, "duration": given}
        )
        assert parsed.duration == timedelta(minutes=expected)


def _race(url: str, start: datetime, surname: str) -> list[Visit | BookingRefused]:
    barrier = threading.Barrier(2)
    outcomes: list[Visit | BookingRefused] = []

    def attempt(name: str) -> None:
        database = open_database(url)  # its own engine, as a second process would have
        try:
            visits = VisitBook(database, tz=SITE, teardown=TEARDOWN, clock=lambda: NOW)
            barrier.wait()
            try:
                outcomes.append(visits.book(request(start, surname=name), source="api"))
            except BookingRefused as refused:
                outcomes.append(refused)
        finally:
            database.close()

    threads = [threading.Thread(target=attempt, args=(f"{surname}{n}",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    return outcomes


def test_racing_bookings_exactly_one_wins(db: Database, url: str) -> None:
    for hour in (10, 12, 14, 16, 18):
        outcomes = _race(url, at(hour), "王")
        wins = [o for o in outcomes if isinstance(o, Visit)]
        losses = [o for o in outcomes if isinstance(o, BookingRefused)]
        assert len(wins) == 1 and len(losses) == 1, outcomes
        assert losses[0].collides_with == wins[0].id
    assert len(VisitBook(db, tz=SITE, teardown=TEARDOWN).list()) == 5


def test_a_guest_who_came_early_occupies_the_site_from_then(
    book: VisitBook, clock: Clock
) -> None:
    early = book.book(request(at(11)), source="api")
    clock.now = at(10)
    arrived = book.set_status(early.id, S.ARRIVED)
    assert arrived.start == at(10)  # the visit begins when the guest is here
    with pytest.raises(BookingRefused) as refused:
        book.book(request(at(10, 5), 30, surname="李"), source="vip-now")
    assert refused.value.collides_with == early.id
    assert refused.value.next_free == at(12) + TEARDOWN


def test_a_guest_staying_past_the_booked_end_still_occupies_the_site(
    book: VisitBook, clock: Clock
) -> None:
    visit = book.book(request(at(9, 10), 30), source="api")
    book.set_status(visit.id, S.ARRIVED, at=at(9, 10))
    clock.now = at(10)  # booked end 9:40; the guest is still here
    with pytest.raises(BookingRefused) as refused:
        book.book(request(at(10, 5), 30, surname="李"), source="api")
    assert refused.value.collides_with == visit.id
    assert refused.value.next_free == at(10) + TEARDOWN
    book.set_status(visit.id, S.DEPARTING)
    book.set_status(visit.id, S.DONE)
    assert book.book(request(at(10, 5), 30, surname="李"), source="api").surname == "李"
