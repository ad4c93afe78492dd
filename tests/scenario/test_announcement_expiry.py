"""An announcement carries its cue's run_until: one still queued when that has passed (a
reminder stuck behind long announcements on a slow intercom) is dropped, not said, and
the event log says so. Real broker, daemon and intercom simulator."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from devices.model import Announcement
from simulators.vipctl_intercom import VipctlIntercomGateway
from tests.broker import Mosquitto
from tests.scenario.rig import SiteRig, site_rig
from tests.waiting import eventually

FOUNTAIN = "请管理层及物业经理到入口喷泉处等候王先生"  # P7, run_until: start
LONG = "请保洁到大堂清理地面并检查卫生间的纸巾"  # 19 characters
# Said anyway up to this long past its deadline (the daemon's is 10 s: speech takes real
# time at any speed factor); shorter here, to keep the test short.
GRACE = timedelta(seconds=0.5)


def slow_intercom(rig: SiteRig, seconds_per_char: float) -> VipctlIntercomGateway:
    sim = rig.sims["staff_intercom"]
    assert isinstance(sim, VipctlIntercomGateway)
    sim.seconds_per_char = seconds_per_char
    return sim


def expired(rig: SiteRig) -> list[dict[str, object]]:
    return [dict(e.detail) for e in rig.daemon.events.query(kinds=["announcement"])
            if e.result == "expired"]


async def test_a_reminder_past_its_moment_is_dropped_not_said(
        tmp_path: Path, mosquitto: Mosquitto, topic_prefix: str) -> None:
    async with site_rig(tmp_path, mosquitto, topic_prefix) as rig:
        rig.daemon.announcer.expiry_grace = GRACE
        # At x600, T-30 is 3 s before the start, T-10 1 s before.
        visit = await rig.book(in_seconds=6)
        await eventually(lambda: any("毛巾" in s for s in rig.said()), timeout=15)
        # The intercom slows down; two long announcements, more urgent than the P7
        # reminder (due at T-10), keep it waiting past the start, its run_until.
        slow_intercom(rig, 0.15)  # 2.85 s each
        announcer = rig.daemon.announcer
        jobs = [asyncio.create_task(announcer.say(
            "staff_intercom", Announcement(f"say:long{i}", LONG, 9), visit_id=None,
            step="say:test")) for i in range(2)]
        assert all(await asyncio.gather(*jobs))
        await eventually(lambda: expired(rig), timeout=10)
        [dropped] = expired(rig)
        assert dropped["text"] == FOUNTAIN
        assert dropped["run_until"] == visit.start.isoformat()
        assert dropped["id"] == f"{visit.id}:p7-fountain:remind"
        assert FOUNTAIN not in rig.said()
        # The step counts as not done: its words were not said.
        await eventually(lambda: rig.daemon.ledger.results(visit.id).get("p7-fountain")
                         == "failed")


async def test_only_the_waiting_one_past_its_deadline_is_dropped(
        tmp_path: Path, mosquitto: Mosquitto, topic_prefix: str) -> None:
    async with site_rig(tmp_path, mosquitto, topic_prefix) as rig:
        rig.daemon.announcer.expiry_grace = GRACE
        slow_intercom(rig, 0.1)  # the long one: 1.9 s
        announcer = rig.daemon.announcer
        now = rig.now()

        def say(name: str, text: str, priority: int,
                until: timedelta | None) -> asyncio.Task[bool]:
            return asyncio.create_task(announcer.say(
                "staff_intercom", Announcement(f"say:{name}", text, priority), visit_id=None,
                step="say:test", until=None if until is None else now + until))

        long = say("long", LONG, 9, None)
        await eventually(lambda: announcer.waiting("staff_intercom") == 0 and not long.done())
        stale = say("stale", "请前台准备迎宾", 5, timedelta(0))
        fresh = say("fresh", "请前台准备茶水", 5, timedelta(hours=1))
        assert await long and not await stale and await fresh
        assert rig.said() == [LONG, "请前台准备茶水"]
        [dropped] = expired(rig)
        assert (dropped["text"], dropped["run_until"]) == ("请前台准备迎宾", now.isoformat())
