"""Booking from head office: the request on the wire, the simulated site's answer, what the
API shows; a link that is down; who may book."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from controller.auth.settings import Role
from tests.broker import Mosquitto
from tests.hq.harness import RunningHq, hq_file, new_database, running_hq
from tests.hq_site import SimSite
from tests.postgres import Postgres
from tests.waiting import eventually

pytestmark = pytest.mark.xdist_group("postgresql")


def local(moment: datetime) -> str:
    """A start as the page sends it: the site's wall-clock time, no offset (the simulated
    site's zone is UTC)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")


async def state_of(running: RunningHq, request_id: str) -> dict[str, Any]:
    response = await running.client.get(f"/bookings/{request_id}")
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body


async def test_booked_then_refused_with_the_next_free_start(
        tmp_path: Path, mosquitto: Mosquitto, postgres: Postgres, topic_prefix: str) -> None:
    path = hq_file(tmp_path, mosquitto, new_database(postgres), topic_prefix)
    start = (datetime.now(UTC) + timedelta(days=1)).replace(second=0, microsecond=0)
    async with running_hq(path) as running, \
            SimSite(mosquitto.host, mosquitto.port, "binjiang", prefix=topic_prefix) as site:
        visit = {"surname": "王", "honorific": "总", "start": local(start), "duration": 60}
        sent = await running.client.post("/bookings", json={"site": "binjiang", "visit": visit})
        assert sent.status_code == 202, sent.text
        first = sent.json()
        assert first["state"] in ("waiting", "booked")
        await eventually(lambda: site.replies)
        # What crossed the wire: one request with a UUID, the visit as given, who asked.
        [request] = site.requests
        assert request.request_id == first["request_id"] and len(request.request_id) == 36
        assert request.visit == visit and request.requested_by == "admin"
        await eventually(lambda: running.hq.store.booking(first["request_id"])["ok"])  # type: ignore[index]
        booked = await state_of(running, first["request_id"])
        assert booked["state"] == "booked" and booked["visit"]["salutation"] == "王总"
        # The site's reply carried the visit: head office can find it at once.
        found = (await running.client.get("/visits", params={"q": "王"})).json()["visits"]
        assert [v["visit_id"] for v in found] == [site.visits[0].id]
        for params, expected in (({"site": "xihu"}, 0), ({"site": "binjiang"}, 1),
                                 ({"since": local(start - timedelta(hours=2)),
                                   "until": local(start + timedelta(minutes=1))}, 1),
                                 ({"since": local(start + timedelta(hours=2))}, 0)):
            by = (await running.client.get("/visits", params=params)).json()["visits"]
            assert len(by) == expected, (params, by)

        clash = {**visit, "surname": "李", "start": local(start + timedelta(minutes=30))}
        second = (await running.client.post("/bookings",
                                            json={"site": "binjiang", "visit": clash})).json()
        await eventually(lambda: len(site.replies) == 2)
        await eventually(lambda: running.hq.store.booking(second["request_id"])["reply"])  # type: ignore[index]
        refused = await state_of(running, second["request_id"])
        assert refused["state"] == "refused"
        assert refused["collides_with"] == site.visits[0].id
        assert datetime.fromisoformat(refused["next_free"]) == start + timedelta(minutes=60)
        assert refused["collision"]["salutation"] == "王总"


async def test_a_request_waits_out_a_link_that_is_down(
        tmp_path: Path, mosquitto: Mosquitto, postgres: Postgres, topic_prefix: str) -> None:
    path = hq_file(tmp_path, mosquitto, new_database(postgres), topic_prefix)
    async with running_hq(path) as running, \
            SimSite(mosquitto.host, mosquitto.port, "xihu", prefix=topic_prefix,
                    answer=False) as site:
        await site.send_link(False)
        await eventually(lambda: any(r["link_up"] is False for r in running.hq.store.sites()))
        start = datetime.now(UTC) + timedelta(days=2)
        visit = {"surname": "张", "honorific": "先生", "start": local(start)}
        sent = (await running.client.post("/bookings", json={"site": "xihu", "visit": visit}))
        assert sent.json()["state"] == "link_down"
        await eventually(lambda: site.requests)
        await site.send_link(True)
        await site.answer_waiting()
        request_id = sent.json()["request_id"]
        await eventually(lambda: running.hq.store.booking(request_id)["ok"])  # type: ignore[index]
        assert (await state_of(running, request_id))["state"] == "booked"


async def test_a_viewer_cannot_book_and_bad_requests_are_refused(
        tmp_path: Path, mosquitto: Mosquitto, postgres: Postgres, topic_prefix: str) -> None:
    path = hq_file(tmp_path, mosquitto, new_database(postgres), topic_prefix)
    async with running_hq(path) as running, \
            SimSite(mosquitto.host, mosquitto.port, "binjiang", prefix=topic_prefix) as site:
        visit = {"surname": "王", "honorific": "总", "start": local(datetime.now(UTC))}
        async with running.as_role(Role.VIEWER) as viewer:
            assert (await viewer.get("/sites")).status_code == 200
            refused = await viewer.post("/bookings", json={"site": "binjiang", "visit": visit})
            assert refused.status_code == 403, refused.text
        async with running.as_role(Role.CONCIERGE) as concierge:
            ok = await concierge.post("/bookings", json={"site": "binjiang", "visit": visit})
            assert ok.status_code == 202
            unknown = await concierge.post("/bookings", json={"site": "nowhere", "visit": visit})
            assert unknown.status_code == 404
            bad = await concierge.post("/bookings", json={"site": "binjiang",
                                                          "visit": {"surname": "王"}})
            assert bad.status_code == 422
        async with running.as_role(Role.VIEWER) as viewer:
            assert (await viewer.get("/bookings/nope")).status_code == 404
        await eventually(lambda: len(site.requests) == 1)  # only the concierge's went out
        assert site.requests[0].requested_by == "concierge"
        nobody = await running.client.get("/sites", headers={"Authorization": "Bearer x" * 3})
        assert nobody.status_code == 401
