"""What one credential may hold of the daemon, and who a client is: requests in progress
and live feeds per credential, proxy headers believed only from a trusted proxy, and a
user's sessions capped without signing anyone else out."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from controller.api.auth_middleware import AuthMiddleware
from controller.api.limits import Gate, LimitMiddleware
from controller.auth.credentials import Authenticator, Throttle
from controller.auth.settings import Role
from controller.config.api import ApiSettings, Limits
from tests.api.harness import ApiSite, bearer, served, site_auth
from tests.waiting import eventually

GUESS = {"Authorization": "Bearer guess-0123456789-abcdef"}


def _slow_app(release: asyncio.Event, limits: Limits) -> AuthMiddleware:
    """A route that holds its request until `release`, behind the daemon's own two doors."""

    async def slow(request: Request) -> PlainTextResponse:
        await release.wait()
        return PlainTextResponse("done")

    inner = LimitMiddleware(Starlette(routes=[Route("/slow", slow)]), gate=Gate(limits))
    return AuthMiddleware(inner, auth=site_auth())


async def test_one_credential_cannot_hold_more_requests_than_its_share() -> None:
    release = asyncio.Event()
    app = _slow_app(release, Limits(requests_per_credential=3))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://vipctl") as http:
        held = [asyncio.create_task(http.get("/slow", headers=bearer(Role.VIEWER)))
                for _ in range(3)]
        await asyncio.sleep(0.05)
        refused = await http.get("/slow", headers=bearer(Role.VIEWER))
        assert refused.status_code == 429
        assert refused.json()["error"] == "too_many_requests"
        assert refused.headers["retry-after"] == "1"
        # Another credential is not held up by the viewer's loop.
        other = asyncio.create_task(http.get("/slow", headers=bearer(Role.CONCIERGE)))
        await asyncio.sleep(0.05)
        assert not other.done()
        release.set()
        assert [r.status_code for r in await asyncio.gather(*held, other)] == [200] * 4
        # Once they are done, the viewer may ask again.
        assert (await http.get("/slow", headers=bearer(Role.VIEWER))).status_code == 200


@asynccontextmanager
async def _streams(http: httpx.AsyncClient, n: int, role: Role,
                   ) -> AsyncIterator[list[httpx.Response]]:
    async with AsyncExitStack() as stack:
        yield [await stack.enter_async_context(
            http.stream("GET", "/events/stream", headers=bearer(role))) for _ in range(n)]


async def test_live_feeds_are_capped_per_credential_and_let_go_when_closed(
        site: ApiSite) -> None:
    events = site.rig.daemon.events
    own = events.subscribers  # the daemon's own readers of the log (the link to head office)
    async with (served(site) as server,
                httpx.AsyncClient(base_url=server.url, timeout=5) as http):
        async with _streams(http, 4, Role.VIEWER) as viewer:
            assert [r.status_code for r in viewer] == [200] * 4
            async with _streams(http, 1, Role.VIEWER) as (fifth,):
                assert fifth.status_code == 429
                assert (await fifth.aread()).decode().count("too_many_streams") == 1
            async with _streams(http, 1, Role.ADMIN) as (admin,):
                assert admin.status_code == 200
            # Reading is not held up by the feeds.
            assert (await http.get("/status", headers=bearer(Role.VIEWER))).status_code == 200
            assert server.app.state.gate.open_streams == 4
        # Closed by the client: the daemon lets go of every feed, and the viewer may open again.
        await eventually(lambda: events.subscribers == own and
                         server.app.state.gate.open_streams == 0, timeout=5)
        async with _streams(http, 4, Role.VIEWER) as again:
            assert [r.status_code for r in again] == [200] * 4


async def test_the_site_caps_live_feeds_for_everyone(site: ApiSite) -> None:
    site.rig.daemon.site = site.rig.daemon.site.model_copy(
        update={"api": ApiSettings(limits=Limits(streams=3))})
    async with (served(site) as server,
                httpx.AsyncClient(base_url=server.url, timeout=5) as http,
                _streams(http, 2, Role.VIEWER) as viewer,
                _streams(http, 1, Role.ADMIN) as admin,
                _streams(http, 1, Role.CONCIERGE) as (late,)):
        assert [r.status_code for r in (*viewer, *admin)] == [200] * 3
        assert late.status_code == 429


async def _wrong_tokens(url: str, addresses: list[str]) -> list[int]:
    async with httpx.AsyncClient(base_url=url, timeout=5) as http:
        return [(await http.get("/status", headers={**GUESS, "X-Forwarded-For": address})
                 ).status_code for address in addresses]


async def test_a_client_cannot_pick_its_address_without_a_trusted_proxy(
        site: ApiSite, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    addresses = [f"10.0.0.{i}" for i in range(1, 7)]
    site.app.state.auth.throttle = Throttle(free=3, first_wait=30)
    async with served(site) as server:
        assert await _wrong_tokens(server.url, addresses) == [401] * 3 + [429] * 3
    assert "10.0.0." not in caplog.text and "from 127.0.0.1" in caplog.text

    # Behind a proxy the site file names, its header says who the client is.
    caplog.clear()
    site.rig.daemon.site = site.rig.daemon.site.model_copy(
        update={"api": ApiSettings.model_validate({"trusted_proxies": ["127.0.0.1"]})})
    site.app.state.auth.throttle = Throttle(free=3, first_wait=30)
    async with served(site) as server:
        assert await _wrong_tokens(server.url, addresses) == [401] * 6
        assert await _wrong_tokens(server.url, ["10.0.0.1"] * 3) == [401, 401, 429]
    assert "a wrong API token from 10.0.0.6" in caplog.text


def test_a_user_signing_in_again_and_again_ends_only_their_own_sessions() -> None:
    auth = Authenticator(users={}, max_sessions_per_user=5)
    admin = auth.open_session("admin", Role.ADMIN)
    concierge = auth.open_session("concierge", Role.CONCIERGE)
    viewer = [auth.open_session("viewer", Role.VIEWER) for _ in range(1000)]
    assert auth.session(admin) is not None and auth.session(concierge) is not None
    assert [auth.session(s) is not None for s in viewer[-6:]] == [False] + [True] * 5
    assert sum(s.user == "viewer" for s in auth.sessions()) == 5
    assert len(auth.sessions()) == 7
