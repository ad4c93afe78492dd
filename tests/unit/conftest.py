"""The database every store test runs on: a fresh SQLite file, and PostgreSQL too when
VIPCTL_TEST_POSTGRES_URL is set (e.g. postgresql+psycopg://vipctl@127.0.0.1/vipctl_test;
its tables are dropped and re-created for each test)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from controller.store.book import VisitBook
from controller.store.database import Database, open_database
from controller.store.tables import Base
from tests.unit.booking import NOW, SITE, TEARDOWN, Clock

PG_ENV = "VIPCTL_TEST_POSTGRES_URL"


@pytest.fixture(params=["sqlite", "postgresql"] if os.environ.get(PG_ENV) else ["sqlite"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/vipctl.db"
    fresh = open_database(os.environ[PG_ENV])
    Base.metadata.drop_all(fresh.engine)
    fresh.close()
    return os.environ[PG_ENV]


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
