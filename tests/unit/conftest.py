"""The database every store test runs on: a fresh SQLite file, and a fresh database on the
test run's own PostgreSQL server (tests/postgres.py; one per test, on the one worker the
PostgreSQL tests share)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from controller.store.book import VisitBook
from controller.store.database import Database, open_database
from tests.postgres import Postgres
from tests.unit.booking import NOW, SITE, TEARDOWN, Clock


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/vipctl.db"
    postgres: Postgres = request.getfixturevalue("postgres")
    return postgres.create_database("vipctl_test")


@pytest.fixture
def db(url: str) -> Iterator[Database]:
    database = open_database(url)
    yield database
    database.close()


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def book(db: Database, clock: Clock) -> VisitBook:
    return VisitBook(db, tz=SITE, teardown=TEARDOWN, clock=clock)
