"""Fixtures for the API tests: a whole site behind the API, per test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.api.harness import ApiSite, api_site
from tests.broker import Mosquitto


@pytest.fixture
async def site(tmp_path: Path, mosquitto: Mosquitto, topic_prefix: str) -> AsyncIterator[ApiSite]:
    async with api_site(tmp_path, mosquitto, topic_prefix) as running:
        yield running
