"""Shared fixtures: a real Mosquitto per session (and one per test that restarts it)."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator

import pytest

from tests.broker import Mosquitto

_namespaces = itertools.count(1)


@pytest.fixture(scope="session")
def mosquitto() -> Iterator[Mosquitto]:
    """One broker shared by the session; tests keep apart through `topic_prefix`."""
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
