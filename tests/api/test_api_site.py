"""Devices, status and the event log over the API, against the simulators' real state."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.api.harness import FAR, ApiSite
from tests.waiting import eventually


async def _get(site: ApiSite, path: str, **params: Any) -> Any:
    response = await site.client.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def test_devices_show_state_availability_and_groups(site: ApiSite) -> None:
    devices = {d["id"]: d for d in await _get(site, "/devices")}
    assert set(devices) == set(site.rig.site.devices)
    assert devices["model_area_lights"]["groups"] == ["all_lights"]
    assert devices["spotlights"]["groups"] == []
    assert (devices["spotlights"]["name"], devices["spotlights"]["kind"]) == ("射灯", "light")

    # P3's baseline: the music plays, as the player itself reported it.
    await eventually(lambda: site.rig.daemon.registry["background_music"].state.get(
        "playback") == "playing")
    shown = await _get(site, "/devices/background_music")
    assert shown["state"]["playback"] == "playing" and shown["state"]["volume"] == 30
    assert shown["available"] is True and shown["failure"] is None
    assert shown["last_report"].endswith("+08:00")

    for missing in ("nope", "all_lights"):  # a group is not a device
        response = await site.client.get(f"/devices/{missing}")
        assert response.status_code == 404 and response.json()["error"] == "unknown_device"


async def test_status_current_next_problems_alerts(site: ApiSite) -> None:
    status = await _get(site, "/status")
    assert (status["site"], status["timezone"]) == ("演示案场", "Asia/Shanghai")
    assert status["broker_connected"] is True and status["current"] is None
    assert status["device_problems"] == [] and status["alerts"] == []

    later = await site.book(FAR + timedelta(hours=4), surname="孙")
    sooner = await site.book(FAR, surname="周")
    status = await _get(site, "/status")
    assert [v["id"] for v in status["next"]] == [sooner["id"], later["id"]]

    # A device that drops off the network (its will says offline) is a problem.
    await site.rig.sims["spotlights"].go_offline()
    await eventually(lambda: site.rig.daemon.registry["spotlights"].available is False)
    status = await _get(site, "/status")
    assert [(d["id"], d["available"]) for d in status["device_problems"]] == [
        ("spotlights", False)]

    # Alerts and failed commands from the log, newest first; other events are not alerts.
    log = site.rig.daemon.events
    log.append("failed", device_id="hall_lights", detail={"reason": "no reply"})
    log.append("alert", visit_id=sooner["id"], detail={"message": "step crashed"})
    log.append("visit", visit_id=sooner["id"], detail={"action": "noted"})
    alerts = (await _get(site, "/status"))["alerts"]
    assert [(a["kind"], a["detail"]) for a in alerts] == [
        ("alert", {"message": "step crashed"}), ("failed", {"reason": "no reply"})]


async def test_events_are_paged_and_filtered(site: ApiSite) -> None:
    visits = [await site.book(FAR + timedelta(hours=2 * i)) for i in range(3)]
    first = await _get(site, "/events", kind="visit", limit=2)
    assert len(first["events"]) == 2
    ids = [e["id"] for e in first["events"]]
    assert ids == sorted(ids, reverse=True) and first["next_before_id"] == ids[-1]
    second = await _get(site, "/events", kind="visit", limit=2, before_id=first["next_before_id"])
    assert second["next_before_id"] is None
    paged = [e["visit_id"] for e in first["events"] + second["events"]]
    assert paged == [v["id"] for v in reversed(visits)]
    assert all(e["at"].endswith("+08:00") for e in first["events"])

    one = await _get(site, "/events", visit_id=visits[1]["id"])
    assert [(e["kind"], e["detail"]["action"]) for e in one["events"]] == [("visit", "booked")]

    # The baseline's music command is on the log under the player's id.
    await eventually(lambda: bool(site.rig.daemon.events.query(device_id="background_music")))
    music = await _get(site, "/events", device_id="background_music")
    assert music["events"] and {e["device_id"] for e in music["events"]} == {"background_music"}
    assert "command" in {e["kind"] for e in music["events"]}

    two_kinds = await _get(site, "/events", kind=["visit", "command"], limit=1000)
    assert {e["kind"] for e in two_kinds["events"]} == {"visit", "command"}
    future = site.naive(FAR)  # naive: the site's time
    assert (await _get(site, "/events", since=future))["events"] == []
