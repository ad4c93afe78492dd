"""Visits over a real database file: P1 overlap rules, moves, the status machine, names.

Set VIPCTL_TEST_POSTGRES_URL (e.g. postgresql+psycopg://vipctl@127.0.0.1/vipctl_test) to
run every test here against PostgreSQL too; its tables are dropped and re-created.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from controller.store.book import VisitBook
from controller.store.database import Database, open_database
from controller.store.requests import VisitRequest
from controller.store.tables import Base
from controller.store.visits import (
    BookingRefused,
    IllegalTransition,
    UnknownVisit,
    Visit,
    VisitStatus,
)

SITE = ZoneInfo("Asia/Shanghai")
TEARDOWN = timedelta(minutes=15)
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=SITE)
PG_ENV = "VIPCTL_TEST_POSTGRES_URL"
S = VisitStatus


def _backends() -> list[str]:
    return ["sqlite", "postgresql"] if os.environ.get(PG_ENV) else ["sqlite"]


@pytest.fixture(params=_backends())
def url(request: pytest.FixtureRequest, tmp_path: os.PathLike[str]) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/vipctl.db"
    pg = os.environ[PG_ENV]
    fresh = open_database(pg)
    Base.metadata.drop_all(fresh.engine)
    fresh.close()
    return pg


@pytest.fixture
def db(url: str) -> Iterator[Database]:
    database = open_database(url)
    yield database
    database.close()


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def book(db: Database, clock: Clock) -> VisitBook:
    return VisitBook(db, tz=SITE, teardown=TEARDOWN, clock=clock)


def at(hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 11, 20, hour, minute, second, tzinfo=SITE)


def request(
    start: datetime, minutes: float = 60, surname: str = "王", **more: object
) -> VisitRequest:
    return VisitRequest.model_validate(
        {"surname": surname, "honorific": "先生", "start": start, "duration": minutes, **more}
    )


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
