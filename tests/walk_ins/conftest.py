"""Fixtures for the API tests: a whole site behind the API, per test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from controller.api.server import ApiServer
from controller.auth.credentials import TOKEN_ENV
from controller.auth.settings import Role
from tests.api.harness import TOKENS, ApiSite, api_site, served
from tests.broker import Mosquitto


@pytest.fixture
async def site(tmp_path: Path, mosquitto: Mosquitto, topic_prefix: str,
               monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[ApiSite]:
    # The CLI commands under test send the token they find here, as on a site box.
    monkeypatch.setenv(TOKEN_ENV, TOKENS[Role.ADMIN])
    async with api_site(tmp_path, mosquitto, topic_prefix) as running:
        yield running


@pytest.fixture
async def server(site: ApiSite) -> AsyncIterator[ApiServer]:
    """The same site behind a real uvicorn server on a free port (for the CLI's commands)."""
    async with served(site) as running:
        yield running
