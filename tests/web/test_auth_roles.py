"""Every endpoint against every kind of caller: none, a wrong token, and each role.

Reading is for viewers, booking and triggers for concierges, the sessions for admins. A
refused caller changes nothing: no visit booked, no trigger pressed.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest

from controller.auth.settings import Role
from tests.api.harness import FAR, ApiSite, bearer, served

V, C, A = Role.VIEWER, Role.CONCIERGE, Role.ADMIN
_days = itertools.count(2)


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # {visit} and {device} are filled in
    needs: Role
    body: Any = None

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def _booking(site: ApiSite) -> dict[str, Any]:
    # A new day each call, so that every allowed booking fits.
    return {"surname": "李", "honorific": "女士", "start": site.at(timedelta(days=next(_days)))
            .isoformat()}


ENDPOINTS = [
    Endpoint("GET", "/visits", V),
    Endpoint("GET", "/visits/{visit}", V),
    Endpoint("GET", "/visits/{visit}/plan", V),
    Endpoint("POST", "/visits", C, body="booking"),
    Endpoint("POST", "/visits/{visit}/move", C, body="move"),
    Endpoint("POST", "/visits/{visit}/cancel", C, body={"reason": "测试"}),
    Endpoint("GET", "/triggers", V),
    Endpoint("POST", "/triggers/arrival", C, body={}),
    Endpoint("POST", "/triggers/show-flat", C, body={}),
    Endpoint("POST", "/triggers/departure", C, body={}),
    Endpoint("POST", "/triggers/vip-now", C, body={"guest": {"surname": "陈", "honorific": "总"}}),
    Endpoint("GET", "/devices", V),
    Endpoint("GET", "/devices/{device}", V),
    Endpoint("GET", "/status", V),
    Endpoint("GET", "/events", V),
    Endpoint("GET", "/events/stream", V),
    Endpoint("GET", "/auth/me", V),
    Endpoint("GET", "/auth/sessions", A),
    Endpoint("DELETE", "/auth/sessions", A),
]


async def call(site: ApiSite, client: httpx.AsyncClient, endpoint: Endpoint,
               headers: dict[str, str], visit_id: str) -> httpx.Response:
    path = endpoint.path.format(visit=visit_id, device="hall_lights")
    body = endpoint.body
    if body == "booking":
        body = _booking(site)
    elif body == "move":
        body = {"start": site.at(timedelta(days=400 + next(_days))).isoformat()}
    return await client.request(endpoint.method, path, json=body, headers=headers)


def _changes(site: ApiSite) -> tuple[int, int]:
    daemon = site.rig.daemon
    return len(daemon.book.list()), len(daemon.events.query(kinds=["trigger"]))


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
async def test_no_credential_wrong_token_and_lacking_role(
        site: ApiSite, bare: httpx.AsyncClient, endpoint: Endpoint) -> None:
    visit = await site.book(FAR)
    before = _changes(site)

    none = await call(site, bare, endpoint, {}, visit["id"])
    assert none.status_code == 401, none.text
    assert none.headers["www-authenticate"].startswith("Bearer")
    assert none.json()["error"] in ("unauthenticated", "bad_credentials")

    wrong = await call(site, bare, endpoint, {"Authorization": "Bearer not-a-token-of-this-site"},
                       visit["id"])
    assert wrong.status_code == 401
    assert wrong.json() == {"error": "bad_credentials", "message": "the token is not valid"}

    for role in Role:
        if role.allows(endpoint.needs):
            continue
        refused = await call(site, bare, endpoint, bearer(role), visit["id"])
        assert refused.status_code == 403, (role, refused.text)
        assert refused.json()["message"] == (f"this needs the {endpoint.needs.value} role; "
                                             f"{role.value} is {role.value}")
    assert _changes(site) == before  # nobody refused changed anything


@pytest.mark.parametrize("endpoint", [e for e in ENDPOINTS if e.path != "/events/stream"],
                         ids=str)
async def test_each_allowed_role_gets_through(site: ApiSite, bare: httpx.AsyncClient,
                                              endpoint: Endpoint) -> None:
    for role in Role:
        if not role.allows(endpoint.needs):
            continue
        visit = await site.book(FAR + timedelta(days=30 * (role.rank + 1)))
        response = await call(site, bare, endpoint, bearer(role), visit["id"])
        if endpoint.path == "/triggers/vip-now" and role is A:
            # Through the door, refused by P1: the concierge's VIP now occupies the site.
            assert response.json()["error"] == "booking_refused"
            continue
        assert response.status_code in (200, 201, 204), (role, response.text)


async def test_the_live_feed_opens_for_a_viewer(site: ApiSite) -> None:
    async with (served(site) as server,
                httpx.AsyncClient(base_url=server.url, timeout=5) as http,
                http.stream("GET", "/events/stream", headers=bearer(V)) as response):
        assert response.status_code == 200
        first = await anext(response.aiter_lines())
        assert first.startswith("retry:")


async def test_public_paths_need_nothing(bare: httpx.AsyncClient) -> None:
    assert (await bare.get("/health")).json() == {"ok": True, "role": "active"}
    page = await bare.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert '<script src="/static/app.js"' in page.text
    script = await bare.get("/static/live.js")
    assert script.status_code == 200 and "EventSource" in script.text
    assert script.headers["content-type"].startswith("text/javascript")
    assert (await bare.get("/static/secret.yaml")).status_code == 404
    assert (await bare.get("/static/..%2Fauth.py")).status_code == 404
    assert (await bare.get("/openapi.json")).status_code == 200
    # Nothing from the network but the daemon: no CDN, no outside address in any file.
    for name in ("", "static/i18n.js", "static/base.js", "static/live.js", "static/draw.js",
                 "static/app.js", "static/app.css"):
        body = (await bare.get(f"/{name}")).text
        assert "http://" not in body and "https://" not in body and "//cdn" not in body, name
    # Anything else, even a path that does not exist, is only for callers with a credential.
    assert (await bare.get("/no/such/thing")).status_code == 401
    garbage = await bare.post("/visits", content=b"{not json",
                              headers={"content-type": "application/json"})
    assert garbage.status_code == 401
