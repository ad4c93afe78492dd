"""Walk-ins (P1) over the API, end to end with the intercom simulator: outside a visit the
客户管家 is called at once; during one the customer is kept for a callback, the reminder
comes when the visit is over, and the callback becomes a booking. The phone number is
never in an event, a log line or on the intercom, and only concierges see it whole."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest

from controller.api.server import ApiServer
from controller.auth.settings import Role
from controller.cli.client import EXIT_FAILED
from controller.store.visits import VisitStatus
from tests.api.harness import FAR, ApiSite, bearer
from tests.api.test_cli_client import vipctl
from tests.waiting import eventually

PHONE = "138 1234 5678"
CALL_NOW = "李女士来访,未预约,请客户管家到前台接待"
REMIND_ONE = "贵宾接待已结束,有1位来访客户等待回电预约,请客户管家跟进"


def walk_in_events(site: ApiSite) -> list[tuple[str | None, str | None, dict[str, object]]]:
    return [(e.visit_id, e.result, dict(e.detail)) for e in reversed(
        site.rig.daemon.events.query(kinds=["walk_in"]))]


async def test_outside_a_visit_the_customer_manager_is_told_at_once(site: ApiSite) -> None:
    response = await site.client.post("/walk-ins", json={"surname": "李", "honorific": "女士"})
    assert response.status_code == 201, response.text
    walk_in = response.json()
    assert (walk_in["during_visit"], walk_in["status"], walk_in["source"]) == (
        False, "received", "api")
    await eventually(lambda: CALL_NOW in site.rig.said())
    assert walk_in_events(site) == [(None, "recorded", {
        "walk_in_id": walk_in["id"], "during_visit": False, "surname": "李",
        "honorific": "女士"})]
    listed = (await site.client.get("/walk-ins")).json()
    assert (listed["waiting"], listed["engaged"]) == (0, None)


async def test_during_a_visit_kept_reminded_after_and_booked(
        site: ApiSite, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    client = site.client
    visit = await site.book(FAR)
    assert (await client.post("/triggers/arrival", json={"visit_id": visit["id"]})
            ).json()["accepted"]
    preferred = site.at(timedelta(days=2))
    response = await client.post("/walk-ins", json={
        "surname": "赵", "honorific": "先生", "phone": PHONE,
        "preferred": preferred.replace(tzinfo=None).isoformat()})
    assert response.status_code == 201, response.text
    walk_in = response.json()
    assert (walk_in["during_visit"], walk_in["visit_id"], walk_in["status"]) == (
        True, visit["id"], "waiting")
    assert walk_in["phone"] == PHONE  # the concierge who typed it

    # A viewer (a lobby screen) sees the number masked; a concierge whole.
    viewer = (await client.get("/walk-ins", headers=bearer(Role.VIEWER))).json()
    assert viewer["walk_ins"][0]["phone"] == "138******5678"
    assert (viewer["waiting"], viewer["engaged"]) == (1, visit["id"])
    concierge = (await client.get("/walk-ins", headers=bearer(Role.CONCIERGE))).json()
    assert concierge["walk_ins"][0]["phone"] == PHONE

    # Nothing is said while the guest is here; the reminder comes with the visit's end.
    assert (await client.post("/triggers/departure")).json()["accepted"]
    await eventually(lambda: site.rig.daemon.book.get(visit["id"]).status is VisitStatus.DONE)
    await eventually(lambda: REMIND_ONE in site.rig.said())
    await eventually(lambda: any(r == "reminded" for _, r, _ in walk_in_events(site)))

    # One tap: the preferred time is the booking's start.
    booked = await client.post(f"/walk-ins/{walk_in['id']}/book")
    assert booked.status_code == 201, booked.text
    new = booked.json()["visit"]
    assert (new["salutation"], new["start"]) == ("赵先生", preferred.isoformat())
    assert booked.json()["walk_in"]["status"] == "booked"
    again = await client.post(f"/walk-ins/{walk_in['id']}/book")
    assert (again.status_code, again.json()["error"]) == (409, "already_booked")

    assert walk_in_events(site) == [
        (visit["id"], "recorded", {"walk_in_id": walk_in["id"], "during_visit": True,
                                   "surname": "赵", "honorific": "先生"}),
        (visit["id"], "reminded", {"waiting": 1}),
        (new["id"], "booked", {"walk_in_id": walk_in["id"], "booking": new["id"]})]
    # The number is nowhere but the walk-ins table.
    everything = json.dumps([dict(e.detail) for e in site.rig.daemon.events.query(limit=1000)],
                            ensure_ascii=False)
    digits = PHONE.replace(" ", "")
    for where in (everything, caplog.text, " ".join(site.rig.said())):
        assert PHONE not in where and digits not in where.replace(" ", "")


async def test_a_callback_booking_is_refused_as_any_booking(site: ApiSite) -> None:
    client = site.client
    other = await site.book(timedelta(days=3))
    visit = await site.book(FAR)
    await client.post("/triggers/arrival", json={"visit_id": visit["id"]})
    taken = (await client.post("/walk-ins", json={
        "surname": "钱", "phone": "021-5555-1234", "preferred": other["start"]})).json()
    refused = await client.post(f"/walk-ins/{taken['id']}/book")
    assert refused.status_code == 409, refused.text
    assert (refused.json()["error"], refused.json()["collides_with"]) == (
        "booking_refused", other["id"])
    assert refused.json()["next_free"]
    # The walk-in waits on, to be booked at the slot offered.
    taken_now = await client.post(f"/walk-ins/{taken['id']}/book",
                                  json={"start": refused.json()["next_free"]})
    assert taken_now.status_code == 201, taken_now.text
    assert taken_now.json()["visit"]["salutation"] == "钱先生"

    nameless = (await client.post("/walk-ins", json={})).json()
    no_time = await client.post(f"/walk-ins/{nameless['id']}/book")
    assert no_time.status_code == 422 and "preferred time" in no_time.json()["message"]
    bad_phone = await client.post("/walk-ins", json={"phone": "call me; rm -rf"})
    assert bad_phone.status_code == 422 and "phone" in bad_phone.json()["message"]
    assert (await client.post("/walk-ins/99999/book")).status_code == 404


async def test_the_cli_lists_and_books_callbacks(site: ApiSite, server: ApiServer) -> None:
    visit = await site.book(FAR)
    await site.client.post("/triggers/arrival", json={"visit_id": visit["id"]})
    preferred = site.at(timedelta(days=2))
    kept = (await site.client.post("/walk-ins", json={
        "surname": "周", "honorific": "女士", "phone": PHONE,
        "preferred": preferred.isoformat()})).json()
    listed = await vipctl(server, "walk-ins")
    assert listed.exit_code == 0, listed.output
    assert "周女士" in listed.stdout and PHONE in listed.stdout  # the admin token
    assert "1 callback(s) waiting" in listed.stdout
    booked = await vipctl(server, "walk-ins", "--book", str(kept["id"]), "--json")
    assert booked.exit_code == 0, booked.output
    assert json.loads(booked.stdout)["visit"]["start"] == preferred.isoformat()
    again = await vipctl(server, "walk-ins", "--book", str(kept["id"]))
    assert again.exit_code == EXIT_FAILED and "already booked" in again.stderr


async def test_a_button_mapped_to_walk_in_records_one(site: ApiSite) -> None:
    """A site file may map a button's action to `walk_in` (devices/config.py): the press
    takes the daemon's one path for buttons, and the details are taken on the page."""
    answer = await site.rig.daemon.press("walk_in", source="button:concierge_button")
    assert answer.startswith("walk_in: ")
    [walk_in] = (await site.client.get("/walk-ins")).json()["walk_ins"]
    assert (walk_in["source"], walk_in["salutation"], walk_in["status"]) == (
        "button:concierge_button", "客户", "received")
    await eventually(lambda: "有客户来访,未预约,请客户管家到前台接待" in site.rig.said())
