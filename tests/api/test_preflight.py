"""The preflight end to end: a real daemon behind its API, real mosquitto, the simulators.
One device offline and one not answering are found at start-60m (at a speed factor), told
to engineering on the intercom and logged; once fixed, a re-check (the CLI, through the
API the page's button calls) clears them."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta

from controller.api.server import ApiServer
from controller.cli.client import EXIT_REFUSED
from tests.api.harness import SPEED, ApiSite
from tests.api.test_cli_client import parsed, vipctl
from tests.waiting import eventually

AHEAD_S = 9.0  # booked this far ahead: the preflight (start-60m) comes 3 s after booking
PREFLIGHT_S = AHEAD_S - 60 * 60 / SPEED


async def test_problems_are_found_an_hour_ahead_told_and_cleared_by_a_recheck(
    site: ApiSite, server: ApiServer
) -> None:
    rig = site.rig
    room, lights = rig.sims["vip_room_climate"], rig.sims["model_area_lights"]
    await room.go_offline()  # its last will: tele/vip_room_climate/LWT Offline
    lights.faults.ignore_commands = True  # it hears the state query and says nothing
    await eventually(lambda: rig.daemon.registry["vip_room_climate"].available is False)

    booked = rig.now()
    start = booked + timedelta(seconds=AHEAD_S)
    response = await site.client.post("/visits", json={
        "surname": "王", "honorific": "先生", "start": start.isoformat()})
    assert response.status_code == 201, response.text
    visit = response.json()["id"]

    def summaries() -> list[dict[str, object]]:
        return [{"at": e.at, "result": e.result, **e.detail} for e in rig.daemon.events.query(
            visit_id=visit, kinds=["preflight"]) if e.device_id is None]

    [summary] = await eventually(summaries)
    assert (summary["result"], summary["problems"]) == ("problem", 2)
    at = summary["at"]
    assert isinstance(at, datetime)
    # At start-60m, not at booking; written once the silent device's wait is over.
    wait = rig.daemon.registry["model_area_lights"].policy.confirm_timeout
    assert PREFLIGHT_S - 0.25 < (at - booked).total_seconds() < PREFLIGHT_S + wait + 1.0
    problems = {e.device_id: (e.result, e.detail) for e in rig.daemon.events.query(
        visit_id=visit, kinds=["preflight"]) if e.device_id is not None}
    assert problems == {
        "vip_room_climate": ("problem", {"problem": "offline", "text": "VIP室温湿度离线"}),
        "model_area_lights": ("problem", {"problem": "no_answer", "text": "模型区灯光没有应答"}),
    }
    told = "设备预检发现问题:模型区灯光没有应答;VIP室温湿度离线。请工程部在王先生到访前处理"
    await eventually(lambda: told in rig.said())
    shown = (await site.client.get(f"/visits/{visit}/preflight")).json()
    assert [(p["device_id"], p["problem"]) for p in shown["problems"]] == [
        ("model_area_lights", "no_answer"), ("vip_room_climate", "offline")]
    # The CLI says so too (exit 3), without telling engineering a second time.
    again = await vipctl(server, "preflight", visit)
    assert again.exit_code == EXIT_REFUSED, again.output
    assert "vip_room_climate" in again.stdout and "offline" in again.stdout

    # Engineering plugs the sensor back in and restarts the lights' controller.
    await room.come_back()
    lights.faults.ignore_commands = False
    await eventually(lambda: rig.daemon.registry["vip_room_climate"].available is True)
    report = parsed(await vipctl(server, "preflight", "--json"))  # the next visit: this one
    assert report["visit_id"] == visit
    assert report["problems"] == [] and not report["told"]
    assert report["cleared"] == ["model_area_lights", "vip_room_climate"]
    cleared = {e.device_id: e.detail["problem"] for e in rig.daemon.events.query(
        visit_id=visit, kinds=["preflight"]) if e.result == "cleared"}
    assert cleared == {"model_area_lights": "no_answer", "vip_room_climate": "offline"}
    assert (await site.client.get(f"/visits/{visit}/preflight")).json()["problems"] == []
    assert [s for s in rig.said() if s.startswith("设备预检")] == [told]
    assert summaries()[0]["result"] == "ok"  # the newest: the re-check found nothing


async def test_visits_checked_together_tell_engineering_once_and_again_after_a_fix(
    site: ApiSite, server: ApiServer
) -> None:
    """Two visits checked at the same moment (as at a restart) both record the offline
    sensor; engineering hears of it once. Fixed and broken again, it is news again."""
    rig = site.rig
    room = rig.sims["vip_room_climate"]
    await room.go_offline()
    await eventually(lambda: rig.daemon.registry["vip_room_climate"].available is False)

    async def book(ahead: timedelta) -> str:
        response = await site.client.post("/visits", json={
            "surname": "王", "honorific": "先生", "start": (rig.now() + ahead).isoformat()})
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    # Hours ahead: neither's own preflight is due; both are checked now, together.
    first, second = await book(timedelta(hours=2)), await book(timedelta(hours=4))
    preflight = rig.daemon.preflight
    reports = await asyncio.gather(preflight.run(first, source="test"),
                                   preflight.run(second, source="test"))
    assert [[p.device_id for p in r.problems] for r in reports] == [["vip_room_climate"]] * 2
    assert sorted(r.told for r in reports) == [False, True]
    told = "设备预检发现问题:VIP室温湿度离线。请工程部在王先生到访前处理"
    await eventually(lambda: told in rig.said())
    assert [s for s in rig.said() if s.startswith("设备预检")] == [told]

    # Plugged back in (a re-check sees it fine), then it drops off again: told again.
    await room.come_back()
    await eventually(lambda: rig.daemon.registry["vip_room_climate"].available is True)
    assert parsed(await vipctl(server, "preflight", second, "--json"))["problems"] == []
    await room.go_offline()
    await eventually(lambda: rig.daemon.registry["vip_room_climate"].available is False)
    result = await vipctl(server, "preflight", second, "--json")
    assert result.exit_code == EXIT_REFUSED, result.output
    again = json.loads(result.stdout)
    assert [p["device_id"] for p in again["problems"]] == ["vip_room_climate"]
    assert again["told"]
    await eventually(lambda: [s for s in rig.said() if s.startswith("设备预检")] == [told] * 2)
