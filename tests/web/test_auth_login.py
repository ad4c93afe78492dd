"""Signing in to the page: the session cookie, sign-out, the admin's sessions, other sites'
pages turned away, guessers slowed down, and tokens never written to a log."""

from __future__ import annotations

import logging

import httpx
import pytest

from controller.api.app import make_app
from controller.auth.credentials import Authenticator, Throttle, secret_digest
from controller.auth.settings import Role
from tests.api.harness import FAR, PASSWORDS, TOKENS, ApiSite, bearer

LOGIN = "/auth/login"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def sign_in(client: httpx.AsyncClient, user: str) -> httpx.Response:
    return await client.post(LOGIN, json={"user": user, "password": PASSWORDS[user]})


async def test_a_session_books_as_its_user_and_ends_on_sign_out(site: ApiSite,
                                                                bare: httpx.AsyncClient) -> None:
    response = await sign_in(bare, "concierge")
    assert response.status_code == 200, response.text
    assert response.json() == {"name": "concierge", "role": "concierge", "via": "session"}
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("vipctl_session=")
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "samesite=strict", "path=/"} <= flags
    assert "secure" not in flags  # plain http on loopback; https gets Secure
    assert any(f.startswith("max-age=") for f in flags)

    me = await bare.get("/auth/me")
    assert me.json() == {"name": "concierge", "role": "concierge", "via": "session"}
    booked = await bare.post("/visits", json={
        "surname": "王", "honorific": "先生", "start": site.at(FAR).isoformat()})
    assert booked.status_code == 201
    assert booked.json()["source"] == "app:concierge"  # who, in the event log too
    event = site.rig.daemon.events.query(kinds=["visit"])[0]
    assert event.source == "app:concierge"

    session_id = bare.cookies["vipctl_session"]
    out = await bare.post("/auth/logout")
    assert out.status_code == 204
    assert "vipctl_session" not in bare.cookies
    # The old cookie is worth nothing now, even sent on purpose.
    bare.cookies.set("vipctl_session", session_id)
    again = await bare.get("/status")
    assert again.status_code == 401 and again.json()["error"] == "session_expired"


async def test_a_viewer_session_reads_but_cannot_book(site: ApiSite,
                                                      bare: httpx.AsyncClient) -> None:
    assert (await sign_in(bare, "viewer")).status_code == 200
    assert (await bare.get("/status")).status_code == 200
    refused = await bare.post("/triggers/vip-now")
    assert refused.status_code == 403
    assert site.rig.daemon.book.list() == []


async def test_another_sites_page_cannot_use_the_cookie(site: ApiSite,
                                                        bare: httpx.AsyncClient) -> None:
    assert (await sign_in(bare, "concierge")).status_code == 200
    evil = {"Origin": "http://evil.example"}
    forged = await bare.post("/triggers/vip-now", headers=evil)
    assert forged.status_code == 403 and forged.json()["error"] == "cross_site"
    assert site.rig.daemon.book.list() == []
    # Reading is harmless; the page's own origin may act.
    assert (await bare.get("/status", headers=evil)).status_code == 200
    own = await bare.post("/visits", headers={"Origin": "http://vipctl"}, json={
        "surname": "王", "honorific": "先生", "start": site.at(FAR).isoformat()})
    assert own.status_code == 201
    login = await bare.post(LOGIN, headers=evil,
                            json={"user": "admin", "password": PASSWORDS["admin"]})
    assert login.status_code == 403


async def test_admin_sees_sessions_and_signs_everyone_else_out(
        site: ApiSite, bare: httpx.AsyncClient) -> None:
    transport = httpx.ASGITransport(app=site.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://vipctl") as phone:
        assert (await sign_in(phone, "concierge")).status_code == 200
        assert (await sign_in(bare, "admin")).status_code == 200
        listed = (await bare.get("/auth/sessions")).json()
        assert sorted((s["user"], s["role"], s["current"]) for s in listed) == [
            ("admin", "admin", True), ("concierge", "concierge", False)]
        assert all(set(s) == {"user", "role", "created", "last_seen", "current"} for s in listed)
        assert (await phone.get("/auth/sessions")).status_code == 403

        assert (await bare.delete("/auth/sessions")).json() == {"ended": 1}
        assert (await phone.get("/status")).status_code == 401
        assert (await bare.get("/status")).status_code == 200


async def test_wrong_passwords_are_slowed_down(site: ApiSite, bare: httpx.AsyncClient) -> None:
    clock = FakeClock()
    site.app.state.auth.throttle = Throttle(free=3, first_wait=2.0, max_wait=60.0,
                                            clock=clock)
    wrong = {"user": "concierge", "password": "guess"}
    for _ in range(3):
        response = await bare.post(LOGIN, json=wrong)
        assert response.status_code == 401
        assert response.json()["message"] == "wrong user name or password"
    # Locked for 2 s, then 4 s: even the right password waits.
    locked = await sign_in(bare, "concierge")
    assert locked.status_code == 429 and locked.headers["retry-after"] == "2"
    clock.now += 2.1
    assert (await bare.post(LOGIN, json=wrong)).status_code == 401
    assert (await sign_in(bare, "concierge")).headers["retry-after"] == "4"
    # Another user is not locked by someone guessing the concierge's password.
    assert (await sign_in(bare, "admin")).status_code == 200
    clock.now += 4.1
    assert (await sign_in(bare, "concierge")).status_code == 200
    # An unknown name is just as wrong (and takes as long: the decoy hash).
    assert (await bare.post(LOGIN, json={"user": "nobody", "password": "x"})).status_code == 401


async def test_wrong_tokens_are_slowed_down_and_never_logged(
        site: ApiSite, bare: httpx.AsyncClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    clock = FakeClock()
    site.app.state.auth.throttle = Throttle(free=2, first_wait=5.0, clock=clock)
    guess = "Bearer guess-0123456789-abcdef"
    for _ in range(2):
        assert (await bare.get("/status", headers={"Authorization": guess})).status_code == 401
    locked = await bare.get("/status", headers=bearer(Role.ADMIN))
    assert locked.status_code == 429 and locked.headers["retry-after"] == "5"
    clock.now += 5.5
    assert (await bare.get("/status", headers=bearer(Role.ADMIN))).status_code == 200

    said = caplog.text + repr([e.detail for e in site.rig.daemon.events.query(limit=1000)])
    assert "a wrong API token from 127.0.0.1" in caplog.text
    for secret in ("guess-0123456789-abcdef", *TOKENS.values()):
        assert secret not in said


async def test_a_site_without_credentials_lets_nobody_in(site: ApiSite) -> None:
    app = make_app(site.rig.daemon, auth=Authenticator())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://vipctl") as client:
        assert (await client.get("/status", headers=bearer(Role.ADMIN))).status_code == 401
        nobody = await client.get("/status")
        assert nobody.status_code == 401
        assert nobody.json()["error"] == "no_credentials_configured"
        assert (await client.get("/health")).status_code == 200


def test_tokens_compare_by_digest_and_the_environment_gives_an_admin() -> None:
    from controller.auth.settings import AuthSettings

    token = "x" * 40
    auth = Authenticator.from_settings(
        AuthSettings.model_validate({"tokens": [
            {"name": "screen", "role": "viewer", "token_sha256": secret_digest(token).hex()}]}),
        environ={"VIPCTL_API_TOKEN": "e" * 32})
    found = auth.check_token(token)
    assert found is not None and (found.name, found.role) == ("screen", Role.VIEWER)
    env = auth.check_token("e" * 32)
    assert env is not None and (env.name, env.role) == ("env", Role.ADMIN)
    assert auth.check_token("x" * 39) is None and auth.check_token("") is None
    assert "x" * 40 not in repr(auth.__dict__)
