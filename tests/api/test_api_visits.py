"""Visits over the API: book, list, get, move, cancel; P1 overlaps refused with the next slot;
the dry-run plan. A real daemon over mosquitto and the simulators, the app in-process."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from tests.api.harness import FAR, SPEED, ApiSite

SHANGHAI = "+08:00"
# The scene's restore at departure+5m keeps the slot busy (scaled, as the whole time axis).
TEARDOWN = timedelta(minutes=5) / SPEED


def t(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def test_book_list_get_move_cancel(site: ApiSite) -> None:
    client = site.client
    # A naive start is the site's wall time; it comes back with the site's offset.
    response = await client.post("/visits", json={
        "surname": "李", "honorific": "女士", "title": "集团副总裁", "party_size": 3,
        "start": site.naive(FAR), "duration": 90})
    assert response.status_code == 201, response.text
    first = response.json()
    assert first["start"].endswith(SHANGHAI)
    assert t(first["start"]) == site.at(FAR)
    assert t(first["end"]) == site.at(FAR) + timedelta(minutes=90)
    assert first["duration"] == 90
    assert (first["salutation"], first["status"], first["source"]) == ("李女士", "booked", "api")

    # The CLI says who it is; the source is recorded as such.
    response = await client.post("/visits", headers={"X-Vipctl-Source": "cli"}, json={
        "surname": "张", "honorific": "总", "start": site.at(FAR + timedelta(hours=3)).isoformat()})
    second = response.json()
    assert second["source"] == "cli"

    listed = (await client.get("/visits")).json()["visits"]
    assert [v["id"] for v in listed] == [first["id"], second["id"]]
    later = (await client.get("/visits", params={
        "since": site.naive(FAR + timedelta(hours=1))})).json()["visits"]
    assert [v["id"] for v in later] == [second["id"]]
    assert (await client.get(f"/visits/{first['id']}")).json() == first

    # Move: the new start, the duration kept; the schedule's event is logged.
    new_start = site.at(FAR + timedelta(hours=6))
    response = await client.post(f"/visits/{first['id']}/move",
                                 json={"start": new_start.isoformat()})
    assert response.status_code == 200, response.text
    moved = response.json()
    assert t(moved["start"]) == new_start and moved["duration"] == 90
    assert [v["id"] for v in (await client.get("/visits")).json()["visits"]] == [
        second["id"], first["id"]]
    kinds = [e.detail.get("action") for e in site.rig.daemon.events.query(
        visit_id=first["id"], kinds=["visit"])]
    assert kinds == ["moved", "booked"]

    # Cancel: status and reason; a second cancel is an illegal transition, and a cancelled
    # visit does not move.
    response = await client.post(f"/visits/{first['id']}/cancel", json={"reason": "行程变更"})
    assert response.status_code == 200, response.text
    cancelled = response.json()
    assert (cancelled["status"], cancelled["cancel_reason"]) == ("cancelled", "行程变更")
    again = await client.post(f"/visits/{first['id']}/cancel", json={"reason": "again"})
    assert again.status_code == 409 and again.json()["error"] == "illegal_transition"
    stuck = await client.post(f"/visits/{first['id']}/move", json={"start": site.naive(FAR)})
    assert stuck.status_code == 409 and "only booked or preparing" in stuck.json()["reason"]
    only = (await client.get("/visits", params={"status": "cancelled"})).json()["visits"]
    assert [v["id"] for v in only] == [first["id"]]


async def test_overlap_is_refused_with_the_next_free_slot(site: ApiSite) -> None:
    first = await site.book(FAR)
    clash = site.at(FAR + timedelta(minutes=30))
    response = await site.client.post("/visits", json={
        "surname": "赵", "honorific": "先生", "start": clash.isoformat()})
    assert response.status_code == 409
    body = response.json()
    assert body["error"] == "booking_refused"
    assert body["collides_with"] == first["id"]
    assert first["id"] in body["reason"]
    assert body["next_free"].endswith(SHANGHAI)
    assert t(body["next_free"]) == t(first["end"]) + TEARDOWN
    # Nothing was booked.
    assert len((await site.client.get("/visits")).json()["visits"]) == 1
    # The slot it named is free indeed.
    ok = await site.client.post("/visits", json={
        "surname": "赵", "honorific": "先生", "start": body["next_free"]})
    assert ok.status_code == 201

    # A move into another visit is refused the same way; the visit stays where it was.
    third = await site.book(FAR + timedelta(hours=5))
    response = await site.client.post(f"/visits/{third['id']}/move",
                                      json={"start": first["start"]})
    assert response.status_code == 409 and response.json()["collides_with"] == first["id"]
    assert (await site.client.get(f"/visits/{third['id']}")).json()["start"] == third["start"]

    # A start in the past is refused too, with the next free slot from now.
    past = await site.client.post("/visits", json={
        "surname": "钱", "honorific": "女士", "start": site.naive(-timedelta(hours=1))})
    assert past.status_code == 409
    assert "past" in past.json()["reason"] and past.json()["next_free"]


async def test_plan_shows_times_commands_and_texts(site: ApiSite) -> None:
    start = site.at(FAR)
    visit = await site.book(FAR, surname="欧阳", honorific="女士")
    response = await site.client.get(f"/visits/{visit['id']}/plan")
    assert response.status_code == 200, response.text
    plan = response.json()
    cues = {c["id"]: c for c in plan["cues"]}
    prefix = site.rig.site.mqtt.topic_prefix

    # P10 at T-45 (scaled by the speed factor), still run late until the departure.
    ac = cues["p10-air-conditioning"]
    assert ac["at"] == "start-45m"
    assert t(ac["due"]) == start - timedelta(minutes=45) / SPEED
    assert ac["late"] == "run_until departure"
    by_device = {d["device_id"]: d for a in ac["actions"] for d in a["devices"]}
    [irhvac] = by_device["vip_room_ac"]["messages"]
    assert irhvac["topic"] == f"{prefix}/cmnd/vip_room_ir/IRHVAC"
    sent = json.loads(irhvac["payload"])
    assert (sent["Vendor"], sent["Power"], sent["Mode"], sent["Temp"]) == ("GREE", "On", "Cool", 24)
    [z2m] = by_device["lobby_thermostat"]["messages"]
    assert z2m["topic"] == f"{prefix}/zigbee2mqtt/lobby_thermostat/set"
    assert json.loads(z2m["payload"]) == {"system_mode": "cool", "occupied_heating_setpoint": 24}

    # P9: the group is resolved to its members; the spotlights are never in it.
    lights = cues["p2-p9-lights"]
    members = [d["device_id"] for a in lights["actions"] if a["target"] == "all_lights"
               for d in a["devices"]]
    assert members == ["model_area_lights", "hall_lights"]
    assert "spotlights" not in json.dumps(plan)

    # Reminders and announcements with the guest's name; triggers are waited for.
    reminder = cues["p7-fountain"]["announcements"][0]
    assert reminder["text"] == "请管理层及物业经理到入口喷泉处等候欧阳女士"
    assert reminder["audience"] == ["管理层", "物业经理"]
    arrival = cues["f1-arrival"]
    assert arrival["due"] is None and arrival["waiting_for"] == "arrival"
    assert arrival["announcements"][0]["text"] == "欧阳女士已到访,请各岗位做好接待工作"
    assert [c["id"] for c in plan["cues"]][-1] == "f13-departure"

    holds = {h["id"]: h for h in plan["holds"]}
    held = holds["p2-model-area-lights-held"]
    assert t(held["begins"]) == start - timedelta(minutes=5) / SPEED
    assert held["ends"] is None and held["waiting_for"] == "departure"
    assert plan["restore"] == {"at": "departure+5m", "description": "恢复日常状态", "due": None,
                               "waiting_for": "departure", "step": None}


async def _all_pages(site: ApiSite, limit: int, **params: str) -> list[str]:
    seen: list[str] = []
    query: dict[str, str | int] = {**params, "limit": limit}
    while True:
        page = (await site.client.get("/visits", params=query)).json()
        assert len(page["visits"]) <= limit
        seen += [v["id"] for v in page["visits"]]
        if page["next_after_id"] is None:
            return seen
        assert page["next_after_id"] == seen[-1]
        query["after_id"] = page["next_after_id"]


async def test_visits_come_a_page_at_a_time(site: ApiSite) -> None:
    from controller.store.requests import VisitRequest

    book = site.rig.daemon.book
    # 70 open visits: past the book's threshold for walking its index in start order.
    booked = [book.book(VisitRequest(surname="王", honorific="先生",
                                     start=site.at(FAR + i * timedelta(hours=2))), "api")
              for i in range(70)]
    for visit in booked[::7]:
        book.cancel(visit.id, "paging test")
    every = [v.id for v in booked]
    open_ids = [v.id for v in booked if v.id not in {c.id for c in booked[::7]}]

    assert await _all_pages(site, 9) == every  # from the database
    assert await _all_pages(site, 9, status="booked") == open_ids  # from memory
    assert await _all_pages(site, 500, status="booked") == open_ids
    assert await _all_pages(site, 4, status="cancelled") == [v.id for v in booked[::7]]
    since = site.naive(FAR + timedelta(hours=41))
    assert await _all_pages(site, 5, status="booked", since=since) == [
        i for i in open_ids if book.get(i).start >= site.at(FAR + timedelta(hours=41))]

    default = (await site.client.get("/visits")).json()
    assert len(default["visits"]) == 70 and default["next_after_id"] is None
    unknown = await site.client.get("/visits", params={"after_id": "v-000000"})
    assert unknown.status_code == 404
    too_many = await site.client.get("/visits", params={"limit": 501})
    assert too_many.status_code == 422
