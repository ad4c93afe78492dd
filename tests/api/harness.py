"""A whole site behind the HTTP API: the scenario rig (real mosquitto, simulators, daemon)
with an httpx client on the app in-process, or a real uvicorn server on a free port."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from argon2 import PasswordHasher
from fastapi import FastAPI

from controller.api.app import make_app
from controller.api.server import ApiServer, serve_api
from controller.auth.credentials import Authenticator, Throttle, secret_digest
from controller.auth.settings import Role
from tests.broker import Mosquitto
from tests.scenario.rig import SiteRig, site_rig

SPEED = 600.0  # as the scenario tests: T-45 is 4.5 s before the start
# A visit this far ahead has nothing due during a test, even at SPEED (T-45 is 4.5 s).
FAR = timedelta(days=1)
# An idle live feed's heartbeat in tests (seconds), instead of 15.
TEST_HEARTBEAT = 0.2
# The site's credentials in tests: a token per role, and a page user per role whose
# password is its name backwards. The client of ApiSite sends the admin token.
TOKENS = {role: f"test-{role.value}-token-0123456789" for role in Role}
PASSWORDS = {role.value: role.value[::-1] + "-pw" for role in Role}
ADMIN = {"Authorization": f"Bearer {TOKENS[Role.ADMIN]}"}
# Cheap argon2 parameters: tests check many passwords; the site file's use the defaults.
_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
_HASHES = {user: _HASHER.hash(password) for user, password in PASSWORDS.items()}


def bearer(role: Role) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[role]}"}


def site_auth(throttle: Throttle | None = None) -> Authenticator:
    return Authenticator(
        tokens=[(role.value, role, secret_digest(token)) for role, token in TOKENS.items()],
        users={user: (Role(user), hashed) for user, hashed in _HASHES.items()},
        throttle=throttle)


@dataclass
class ApiSite:
    rig: SiteRig
    app: FastAPI
    client: httpx.AsyncClient

    def at(self, delta: timedelta) -> datetime:
        """A time `delta` from now, whole minutes, in the site's timezone."""
        moment = self.rig.now() + delta
        return moment.replace(second=0, microsecond=0)

    def naive(self, delta: timedelta) -> str:
        """The same as a naive ISO string (which the API reads in the site's timezone)."""
        return self.at(delta).replace(tzinfo=None).isoformat()

    async def book(self, delta: timedelta = FAR, **fields: Any) -> dict[str, Any]:
        body = {"surname": "王", "honorific": "先生", "start": self.at(delta).isoformat(),
                **fields}
        response = await self.client.post("/visits", json=body)
        assert response.status_code == 201, response.text
        visit: dict[str, Any] = response.json()
        return visit


@asynccontextmanager
async def api_site(tmp_path: Path, broker: Mosquitto, prefix: str, *, speed: float = SPEED,
                   initial: dict[str, dict[str, Any]] | None = None,
                   database: str | None = None, site_id: str = "demo", extra: str = "",
                   ) -> AsyncIterator[ApiSite]:
    """`extra`: sections added to the site file (YAML), as site_rig's."""
    async with site_rig(tmp_path, broker, prefix, speed=speed, initial=initial,
                        database=database, site_id=site_id, extra=extra) as rig:
        app = make_app(rig.daemon, heartbeat=TEST_HEARTBEAT, auth=site_auth())
        # A 500 is an answer to assert on, not an exception in the test.
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://vipctl",
                                     timeout=30, headers=ADMIN) as client:
            yield ApiSite(rig, app, client)


@asynccontextmanager
async def served(site: ApiSite) -> AsyncIterator[ApiServer]:
    """The site's daemon behind a real uvicorn server on a free loopback port."""
    server = await serve_api(site.rig.daemon, "127.0.0.1", 0, heartbeat=TEST_HEARTBEAT,
                             auth=site.app.state.auth)
    try:
        yield server
    finally:
        await server.stop()
