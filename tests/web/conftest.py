"""Fixtures for the page and authentication tests: a whole site behind the API, per test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.api.harness import ApiSite, api_site
from tests.broker import Mosquitto


@pytest.fixture
async def site(tmp_path: Path, mosquitto: Mosquitto, topic_prefix: str) -> AsyncIterator[ApiSite]:
    async with api_site(tmp_path, mosquitto, topic_prefix) as running:
        yield running


@pytest.fixture
async def bare(site: ApiSite) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the same app that sends no credential unless told to."""
    transport = httpx.ASGITransport(app=site.app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://vipctl",
                                 timeout=30) as client:
        yield client
