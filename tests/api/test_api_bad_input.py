"""Bad input gets a 4xx with a reason and changes nothing; never a 500.

Each case is a request a careless or hostile client might send. A 500 only comes from a
real bug, and then it is JSON that gives nothing away.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.api.harness import FAR, ApiSite

GOOD = {"surname": "王", "honorific": "先生"}


@dataclass
class Case:
    name: str
    method: str
    path: str
    status: int
    json: Any = None
    content: bytes | None = None
    params: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    says: str = ""  # a word the reason must contain


def booking(**fields: Any) -> dict[str, Any]:
    return {**GOOD, "start": "2030-06-01T10:00:00", **fields}


def raw(text: str | bytes) -> bytes:
    return text.encode() if isinstance(text, str) else text


JSON = {"content-type": "application/json"}
CASES = [
    # The body.
    Case("malformed JSON", "POST", "/visits", 422, content=raw('{"surname": "王",'),
         headers=JSON, says="not valid JSON"),
    Case("not an object", "POST", "/visits", 422, content=raw("[1, 2]"), headers=JSON),
    Case("no body", "POST", "/visits", 422, says="body is required"),
    Case("JSON as text/plain", "POST", "/visits", 422, content=raw('{"surname": "王"}'),
         headers={"content-type": "text/plain"}, says="Content-Type: application/json"),
    Case("deeply nested", "POST", "/visits", 400, content=raw("[" * 20_000 + "]" * 20_000),
         headers=JSON),
    Case("body too large", "POST", "/visits", 413, json=booking(notes="x" * 100_000)),
    Case("NaN duration", "POST", "/visits", 422, headers=JSON,
         content=raw('{"surname": "王", "honorific": "先生", "start": "2030-06-01T10:00", '
                     '"duration": NaN}')),
    # Wrong types and unknown fields.
    Case("party size a word", "POST", "/visits", 422, json=booking(party_size="many"),
         says="party_size"),
    Case("surname a number", "POST", "/visits", 422, json=booking(surname=123)),
    Case("start a boolean", "POST", "/visits", 422, json=booking(start=True)),
    Case("unknown field", "POST", "/visits", 422, json=booking(vip_level=9), says="vip_level"),
    Case("duration negative", "POST", "/visits", 422, json=booking(duration=-5)),
    Case("duration huge", "POST", "/visits", 422, json=booking(duration=1e20)),
    Case("duration a boolean", "POST", "/visits", 422, json=booking(duration=True)),
    # Huge or odd strings.
    Case("huge surname", "POST", "/visits", 422, json=booking(surname="王" * 10_000)),
    Case("notes too long", "POST", "/visits", 422, json=booking(notes="注" * 600)),
    Case("line break in a name", "POST", "/visits", 422, json=booking(surname="王\n")),
    Case("lone surrogate", "POST", "/visits", 422, headers=JSON,
         content=raw('{"surname": "\\ud800", "honorific": "先生", "start": "2030-06-01T10:00"}')),
    # Bad dates.
    Case("month 13", "POST", "/visits", 422, json=booking(start="2030-13-45T10:00"),
         says="start"),
    Case("a word for a date", "POST", "/visits", 422, json=booking(start="tomorrow")),
    Case("year 1999", "POST", "/visits", 422, json=booking(start="1999-01-01T10:00")),
    Case("year 99999", "POST", "/visits", 422, json=booking(start="99999-01-01T10:00")),
    Case("since garbage", "GET", "/visits", 422, params={"since": "soon"}),
    Case("since year 1", "GET", "/visits", 422, params={"since": "0001-01-01T00:00"}),
    Case("unknown status", "GET", "/visits", 422, params={"status": "teleported"}),
    Case("move to year 3000", "POST", "/visits/{id}/move", 422,
         json={"start": "3000-01-01T10:00"}),
    Case("move without start", "POST", "/visits/{id}/move", 422, json={"duration": 30}),
    Case("move unknown field", "POST", "/visits/{id}/move", 422,
         json={"start": "2030-06-01T10:00", "end": "2030-06-01T11:00"}),
    # Unknown ids.
    Case("unknown visit", "GET", "/visits/v-000000", 404, says="v-000000"),
    Case("not an id", "GET", "/visits/..%2F..%2Fstatus", 404),
    Case("NUL in an id", "GET", "/visits/v-%00", 404),
    Case("huge id", "GET", "/visits/" + "v" * 5000, 404),
    Case("move unknown visit", "POST", "/visits/v-000000/move", 404,
         json={"start": "2030-06-01T10:00"}),
    Case("cancel unknown visit", "POST", "/visits/v-000000/cancel", 404, json={"reason": "x"}),
    Case("plan unknown visit", "GET", "/visits/v-000000/plan", 404),
    Case("unknown device", "GET", "/devices/" + "x" * 100, 422),
    # Cancel reasons.
    Case("cancel without reason", "POST", "/visits/{id}/cancel", 422, json={}),
    Case("empty reason", "POST", "/visits/{id}/cancel", 422, json={"reason": ""}),
    Case("reason too long", "POST", "/visits/{id}/cancel", 422, json={"reason": "r" * 1000}),
    Case("reason two lines", "POST", "/visits/{id}/cancel", 422, json={"reason": "a\nb"}),
    # Triggers.
    Case("unknown trigger", "POST", "/triggers/teleport", 422, says="arrival"),
    Case("underscore trigger", "POST", "/triggers/show_flat", 422),
    Case("trigger unknown visit", "POST", "/triggers/arrival", 404,
         json={"visit_id": "v-000000"}),
    Case("trigger visit a number", "POST", "/triggers/arrival", 422, json={"visit_id": 5}),
    Case("trigger visit a path", "POST", "/triggers/arrival", 422,
         json={"visit_id": "../../etc"}),
    Case("guest on arrival", "POST", "/triggers/arrival", 422, json={"guest": GOOD},
         says="vip-now"),
    Case("vip-now with a start", "POST", "/triggers/vip-now", 422,
         json={"guest": {**GOOD, "start": "2030-06-01T10:00"}}, says="start"),
    Case("vip-now with a visit", "POST", "/triggers/vip-now", 422,
         json={"visit_id": "v-000000"}),
    Case("vip-now bad guest", "POST", "/triggers/vip-now", 422,
         json={"guest": {"surname": "王" * 100, "honorific": "先生"}}, says="guest.surname"),
    Case("vip-now guest not an object", "POST", "/triggers/vip-now", 422, json={"guest": "王"}),
    Case("pose as a button", "POST", "/triggers/arrival", 422,
         headers={"X-Vipctl-Source": "button:concierge_button"}),
    # The event log.
    Case("limit 0", "GET", "/events", 422, params={"limit": 0}),
    Case("limit huge", "GET", "/events", 422, params={"limit": 10**9}),
    Case("before_id negative", "GET", "/events", 422, params={"before_id": -1}),
    Case("before_id past 64 bits", "GET", "/events", 422, params={"before_id": 2**70}),
    Case("unknown kind", "GET", "/events", 422, params={"kind": "gossip"}, says="gossip"),
    Case("visit filter not an id", "GET", "/events", 422, params={"visit_id": "%' OR 1=1"}),
    Case("stream unknown kind", "GET", "/events/stream", 422, params={"kind": "gossip"}),
    # Routes and methods.
    Case("no such route", "GET", "/teleport", 404),
    Case("wrong method", "PUT", "/visits", 405),
]


@pytest.fixture
async def booked(site: ApiSite) -> str:
    visit = await site.book(FAR)
    return str(visit["id"])


async def test_bad_input_gets_a_4xx_with_a_reason_and_changes_nothing(
    site: ApiSite, booked: str
) -> None:
    before = (await site.client.get("/visits")).json()
    events_before = site.rig.daemon.events.query(kinds=["visit", "trigger"], limit=1000)
    wrong = []
    for case in CASES:
        response = await site.client.request(
            case.method, case.path.replace("{id}", booked), json=case.json,
            content=case.content, params=case.params, headers=case.headers)
        problem = None
        if response.status_code != case.status:
            problem = f"HTTP {response.status_code}, wanted {case.status}: {response.text[:200]}"
        elif case.status != 413:  # starlette's body limit answers in plain text
            body = response.json()
            if not body.get("message"):
                problem = f"no message: {body}"
            elif case.says and case.says not in body["message"]:
                problem = f"{case.says!r} not in {body['message']!r}"
        if problem:
            wrong.append(f"{case.name}: {problem}")
    assert wrong == []
    assert (await site.client.get("/visits")).json() == before
    events_after = site.rig.daemon.events.query(kinds=["visit", "trigger"], limit=1000)
    assert events_after == events_before


async def test_a_validation_error_reads_well(site: ApiSite) -> None:
    response = await site.client.post("/visits", json={"surname": "王", "start": "soon",
                                                       "duration": -1})
    body = response.json()
    assert response.status_code == 422 and body["error"] == "invalid_request"
    where = {e["where"] for e in body["errors"]}
    assert where == {"honorific", "start", "duration"}
    assert "duration must be positive" in body["message"]
    assert "Value error" not in body["message"]


async def test_a_real_bug_is_a_500_that_gives_nothing_away(
    site: ApiSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("database password is hunter2")

    monkeypatch.setattr(site.rig.daemon.book, "page", broken)
    response = await site.client.get("/visits")
    assert response.status_code == 500
    assert response.json()["error"] == "internal_error"
    assert "hunter2" not in response.text
    # Other routes still answer.
    assert (await site.client.get("/health")).json() == {"ok": True, "role": "active"}
