"""Undoing a mistaken press within 30 s, over the API with the real daemon, broker and
intercom simulator: a departure undone before its restore ran (the restore never runs, the
visit is back at the show flat, the real departure later says its words again), refused
after the restore or after the window; an arrival undone before its cues acted."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from controller.store.visits import VisitStatus
from tests.api.harness import FAR, ApiSite, api_site
from tests.broker import Mosquitto
from tests.waiting import QUIET_S, eventually

SPEED = 60.0  # the restore comes at departure+5m: 5 s after the press
ARRIVAL = "王先生已到访,请各岗位做好接待工作"
DEPARTURE = "王先生即将离开,请销售人员在门口列队送别"


@pytest.fixture
async def site(tmp_path: Path, mosquitto: Mosquitto, topic_prefix: str,
               ) -> AsyncIterator[ApiSite]:
    async with api_site(tmp_path, mosquitto, topic_prefix, speed=SPEED) as running:
        yield running


async def _press(site: ApiSite, name: str, visit_id: str) -> None:
    answer = (await site.client.post(f"/triggers/{name}", json={"visit_id": visit_id})).json()
    assert answer["accepted"], answer


async def test_a_departure_undone_before_its_restore(site: ApiSite) -> None:
    client, rig = site.client, site.rig
    visit = (await site.book(FAR))["id"]
    for name in ("arrival", "show-flat", "departure"):
        await _press(site, name, visit)
    await eventually(lambda: DEPARTURE in rig.said())
    # Undone only once its step is over (until the intercom's "played" is back: busy).
    await eventually(lambda: rig.daemon.ledger.results(visit).get("f13-departure") == "ok")

    # Asked first: what going back means, and what was said already.
    asked = (await client.post("/triggers/departure/undo")).json()
    assert asked["code"] is None, asked
    assert (asked["undone"], asked["needs_confirmation"], asked["back_to"]) == (
        False, True, "at_show_flat")
    assert asked["said"] == [DEPARTURE]
    done = (await client.post("/triggers/departure/undo", json={"confirm": True})).json()
    assert done["undone"] is True, done
    assert rig.daemon.book.get(visit).status is VisitStatus.AT_SHOW_FLAT

    # The restore (due 5 s after the press) never runs: the lights stay held on.
    await asyncio.sleep(5 + 1)
    assert "restore" not in rig.daemon.ledger.done(visit)
    assert rig.daemon.book.get(visit).status is VisitStatus.AT_SHOW_FLAT
    assert rig.sims["model_area_lights"].state.get("power") is True
    events = [(e.detail.get("trigger"), e.result) for e in reversed(
        rig.daemon.events.query(visit_id=visit, kinds=["trigger"]))]
    assert events[-1] == ("departure", "undone")

    # The real departure: said again, then the restore ends the visit.
    await _press(site, "departure", visit)
    await eventually(lambda: rig.said().count(DEPARTURE) == 2)
    await eventually(lambda: rig.daemon.book.get(visit).status is VisitStatus.DONE, timeout=15)
    late = (await client.post("/triggers/departure/undo", json={
        "visit_id": visit, "confirm": True})).json()
    assert (late["undone"], late["code"]) == (False, "moved_on")


async def test_refused_after_the_restore_or_the_window(site: ApiSite) -> None:
    client, rig = site.client, site.rig
    visit = (await site.book(FAR))["id"]
    await _press(site, "arrival", visit)
    await eventually(lambda: rig.daemon.ledger.results(visit).get("f1-arrival") == "ok")

    # An arrival undone in time: back to preparing; the real one says the welcome again.
    done = (await client.post("/triggers/arrival/undo", json={"confirm": True})).json()
    assert (done["undone"], done["back_to"], done["said"]) == (True, "preparing", [ARRIVAL])
    assert rig.daemon.book.get(visit).status is VisitStatus.PREPARING
    await _press(site, "arrival", visit)
    await eventually(lambda: rig.said().count(ARRIVAL) == 2)

    # Past the window (shortened here from 30 s): refused, saying why.
    rig.daemon.undo.window = timedelta(seconds=QUIET_S)
    await asyncio.sleep(QUIET_S * 2)
    late = (await client.post("/triggers/arrival/undo", json={"confirm": True})).json()
    assert (late["undone"], late["code"]) == (False, "too_late")
    assert "can be undone within 0.3 s" in late["message"]
    assert rig.daemon.book.get(visit).status is VisitStatus.ARRIVED

    # After the restore ran (departure+5m, 5 s here): refused.
    rig.daemon.undo.window = timedelta(seconds=30)
    await _press(site, "departure", visit)
    await eventually(lambda: "restore" in rig.daemon.ledger.done(visit), timeout=15)
    gone = (await client.post("/triggers/departure/undo", json={
        "visit_id": visit, "confirm": True})).json()
    assert gone["undone"] is False and gone["code"] in ("restored", "moved_on")
    # Only arrival and departure can be taken back.
    other = (await client.post("/triggers/show-flat/undo")).json()
    assert other["code"] == "not_undoable"
