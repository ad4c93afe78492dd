"""Shared fixtures: a real Mosquitto per session (and one per test that restarts it), a
real PostgreSQL server for the run."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator

import pytest

from tests.broker import Mosquitto
from tests.postgres import Postgres, binaries

_namespaces = itertools.count(1)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """One PostgreSQL server for the whole run (the `postgres` fixture), whose databases the
    tests drop and make again: its tests take turns on one worker (scripts/test:
    --dist loadgroup), so that one worker starts it."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.params.get("url") == "postgresql":
            item.add_marker(pytest.mark.xdist_group("postgresql"))


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """A PostgreSQL server of the test run's own (tests/postgres.py). Tests that use it
    directly mark themselves `pytest.mark.xdist_group("postgresql")`."""
    if binaries() is None and not os.environ.get("CI"):
        pytest.skip("PostgreSQL is not installed (scripts/test installs it)")
    server = Postgres()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def mosquitto() -> Iterator[Mosquitto]:
    """One broker for the session (for each xdist worker: a session each, on a free port);
    tests keep apart through `topic_prefix`."""
    broker = Mosquitto()
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
def own_mosquitto() -> Iterator[Mosquitto]:
    """A broker of this test's own, for tests that stop or restart it."""
    broker = Mosquitto()
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
def topic_prefix(request: pytest.FixtureRequest) -> str:
    """A topic namespace unique to this test, so tests on one broker never see each other."""
    return f"t{os.getpid()}-{next(_namespaces)}"
