"""Triggers over the API: the reception flow, a double arrival, VIP now, nothing to apply to.
What the simulators heard and the event log are the evidence."""

from __future__ import annotations

from controller.store.visits import VisitStatus
from tests.api.harness import FAR, ApiSite
from tests.waiting import eventually

ARRIVAL = "王先生已到访,请各岗位做好接待工作"
SHOW_FLAT = "王先生即将参观样板房,请样板房管家做好准备"
DEPARTURE = "王先生即将离开,请销售人员在门口列队送别"


async def test_reception_flow_and_a_double_arrival(site: ApiSite) -> None:
    client, sims = site.client, site.rig.sims
    visit = await site.book(FAR)

    # The guest came long before the booked start: the preparation runs, with the welcome.
    response = await client.post("/triggers/arrival", json={"visit_id": visit["id"]})
    assert response.status_code == 200, response.text
    result = response.json()
    assert result == {"trigger": "arrival", "accepted": True, "message": "arrival: 王先生",
                      "visit_id": visit["id"], "needs_confirmation": False}
    await eventually(lambda: sims["vip_room_ac"].state.get("power") is True)
    await eventually(lambda: ARRIVAL in site.rig.said(), timeout=5)

    # A second press, from the CLI, for whatever visit is current: not accepted, not said.
    again = await client.post("/triggers/arrival", headers={"X-Vipctl-Source": "cli"})
    assert again.status_code == 200
    assert again.json()["accepted"] is False and "already" in again.json()["message"]
    assert again.json()["visit_id"] == visit["id"]

    current = (await client.get("/status")).json()["current"]
    assert (current["id"], current["status"]) == (visit["id"], "arrived")

    assert (await client.post("/triggers/show-flat")).json()["accepted"] is True
    await eventually(lambda: SHOW_FLAT in site.rig.said(), timeout=5)
    assert (await client.post("/triggers/departure", json={})).json()["accepted"] is True
    await eventually(lambda: DEPARTURE in site.rig.said(), timeout=5)
    # The restore at departure+5m (0.5 s at this speed) ends the visit.
    await eventually(lambda: site.rig.daemon.book.get(visit["id"]).status is VisitStatus.DONE)
    late = (await client.post("/triggers/show-flat")).json()
    assert late["accepted"] is False

    said = site.rig.said()
    assert said.count(ARRIVAL) == 1 and len(said) == len(set(said))
    triggers = [(e.source, e.detail["trigger"], e.result) for e in reversed(
        site.rig.daemon.events.query(kinds=["trigger"]))]
    assert triggers[:4] == [("api", "arrival", "ok"), ("cli", "arrival", "ignored"),
                            ("api", "show_flat", "ok"), ("api", "departure", "ok")]


async def test_vip_now_prepares_at_once_for_the_guest_named(site: ApiSite) -> None:
    client, sims = site.client, site.rig.sims
    response = await client.post("/triggers/vip-now", json={
        "guest": {"surname": "陈", "honorific": "总", "title": "董事长", "party_size": 4}})
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["accepted"] is True and result["message"] == "vip-now: 陈总"
    visit = (await client.get(f"/visits/{result['visit_id']}")).json()
    assert (visit["title"], visit["party_size"], visit["status"]) == ("董事长", 4, "preparing")
    assert visit["source"] == "api"
    # The preparation ran at once: the air conditioning, the lights, the T-10 reminder.
    assert sims["vip_room_ac"].state.get("power") is True
    assert sims["model_area_lights"].state.get("power") is True
    await eventually(lambda: "请管理层及物业经理到入口喷泉处等候陈总" in site.rig.said(), timeout=5)

    # One visitor at a time: a second VIP now is refused like any overlapping booking.
    second = await client.post("/triggers/vip-now")
    assert second.status_code == 409
    assert second.json()["collides_with"] == visit["id"] and second.json()["next_free"]

    # Without a name, once the site is free again, the guest is 贵宾.
    await client.post(f"/visits/{visit['id']}/cancel", json={"reason": "test"})
    anonymous = await client.post("/triggers/vip-now")
    assert anonymous.status_code == 200, anonymous.text
    assert anonymous.json()["message"] == "vip-now: 贵宾"


async def test_a_trigger_with_no_visit_is_not_accepted(site: ApiSite) -> None:
    for name in ("arrival", "show-flat", "departure"):
        response = await site.client.post(f"/triggers/{name}")
        assert response.status_code == 200
        assert response.json()["accepted"] is False
        assert response.json()["message"].startswith("no visit")
    assert site.rig.said() == []


async def test_an_arrival_hours_before_the_next_booking_waits_for_a_confirmation(
        site: ApiSite) -> None:
    # The probe's case: pressed while no guest is on site, the next visit two hours away.
    # At x600 two hours are 12 s: nothing of the visit is due during the test.
    visit = await site.rig.book(in_seconds=12)
    button = site.rig.sims["concierge_button"]

    shown = {b["trigger"]: b for b in (await site.client.get("/triggers")).json()}
    assert shown["arrival"]["available"] is True
    assert "confirm the early arrival" in shown["arrival"]["confirm"]

    await button.press("single")  # type: ignore[attr-defined]
    await eventually(lambda: any(e.detail.get("trigger") == "arrival" for e in
                                 site.rig.daemon.events.query(kinds=["trigger"])))
    pressed = site.rig.daemon.events.query(kinds=["trigger"])[0]
    assert pressed.result == "ignored" and pressed.source == "button:concierge_button"
    assert "booked for" in pressed.detail["message"]
    asked = (await site.client.post("/triggers/arrival")).json()
    assert (asked["accepted"], asked["needs_confirmation"], asked["visit_id"]) == (
        False, True, visit.id)
    assert site.rig.daemon.book.get(visit.id).status is VisitStatus.BOOKED
    assert ARRIVAL not in site.rig.said()

    # Confirmed on the page: the preparation runs, then the welcome.
    done = (await site.client.post("/triggers/arrival", json={
        "visit_id": asked["visit_id"], "confirm": True})).json()
    assert (done["accepted"], done["needs_confirmation"]) == (True, False)
    await eventually(lambda: ARRIVAL in site.rig.said())
    assert site.rig.daemon.book.get(visit.id).status is VisitStatus.ARRIVED
