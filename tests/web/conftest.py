"""Fixtures for the page and authentication tests: a whole site behind the API, per test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from controller.api.server import ApiServer
from tests.api.harness import ApiSite, api_site, served
from tests.broker import Mosquitto

# Slow enough for a page to follow a visit step by step (a guest booked two minutes ahead is
# inside the arrival window, 2 h / 60), fast enough that the restore comes 5 s after the
# departure.
SLOW_SPEED = 60.0


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


@pytest.fixture
async def slow_site(tmp_path: Path, mosquitto: Mosquitto, topic_prefix: str,
                    ) -> AsyncIterator[tuple[ApiSite, ApiServer]]:
    """A site at SLOW_SPEED behind a real uvicorn server, for the browser."""
    async with api_site(tmp_path, mosquitto, topic_prefix, speed=SLOW_SPEED) as site, \
            served(site) as server:
        yield site, server
