"""Shared fixtures: a real Mosquitto per session (and one per test that restarts it)."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator

import pytest

from tests.broker import Mosquitto

_namespaces = itertools.count(1)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """One PostgreSQL database (VIPCTL_TEST_POSTGRES_URL) for the whole run, whose tables the
    tests drop: its tests take turns on one worker (scripts/test: --dist loadgroup)."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.params.get("url") == "postgresql":
            item.add_marker(pytest.mark.xdist_group("postgresql"))


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
