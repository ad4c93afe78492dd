"""Planning a visit: absolute times, the speed factor, waiting triggers, late decisions."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from devices.model import Announcement
from scenes.loader import load_scene
from scenes.model import Scene
from scenes.timeline import (
    LATE_GRACE,
    PlannedCue,
    announcements,
    lateness_decision,
    plan,
    plan_holds,
    preparation,
    restore_time,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 12, 1, 15, 0, tzinfo=SHANGHAI)
MIN = timedelta(minutes=1)
GUEST: dict[str, Any] = {"surname": "王", "honorific": "先生", "party_size": 2}


@pytest.fixture(scope="module")
def vip() -> Scene:
    return load_scene()


def by_id(planned: list[PlannedCue]) -> dict[str, PlannedCue]:
    return {p.cue.id: p for p in planned}


def test_before_any_trigger(vip: Scene) -> None:
    planned = plan(vip, start=START, triggers={})
    assert [(p.cue.id, p.due) for p in planned] == [
        ("p10-air-conditioning", START - 45 * MIN),
        ("p5-car-shade", START - 30 * MIN),
        ("p6-refreshments", START - 30 * MIN),
        ("p10-room-too-warm", START - 15 * MIN),
        ("p7-fountain", START - 10 * MIN),
        ("f2-umbrellas", START - 10 * MIN),
        ("f2-door-party", START - 10 * MIN),
        ("p2-p9-lights", START - 5 * MIN),
        ("p11-promo-video", START - 5 * MIN),
        ("f1-arrival", None),
        ("f7-show-flat", None),
        ("f13-departure", None),
    ]
    assert [p.waiting for p in planned[-3:]] == [True, True, True]
    assert restore_time(vip, start=START, triggers={}) is None


def test_triggers_fix_the_rest(vip: Scene) -> None:
    arrival = START + 3 * MIN  # three minutes late
    triggers = {"arrival": arrival, "show_flat": arrival + 20 * MIN,
                "departure": arrival + 50 * MIN}
    planned = by_id(plan(vip, start=START, triggers=triggers))
    assert planned["f1-arrival"].due == arrival
    assert planned["f1-arrival"].deadline == arrival + 2 * MIN
    assert planned["f7-show-flat"].due == arrival + 20 * MIN
    assert planned["f13-departure"].due == arrival + 50 * MIN
    assert planned["p10-air-conditioning"].deadline == arrival + 50 * MIN  # run_until departure
    assert planned["p7-fountain"].deadline == START
    assert restore_time(vip, start=START, triggers=triggers) == arrival + 55 * MIN


def test_an_early_arrival_sorts_before_the_start(vip: Scene) -> None:
    early = START - 7 * MIN
    ids = [p.cue.id for p in plan(vip, start=START, triggers={"arrival": early})]
    assert ids.index("f1-arrival") == ids.index("f2-door-party") + 1
    assert ids[-2:] == ["f7-show-flat", "f13-departure"]


def test_speed_divides_every_offset(vip: Scene) -> None:
    departure = START + 30 * timedelta(seconds=1)
    planned = by_id(plan(vip, start=START, triggers={"departure": departure}, speed=150))
    assert planned["p10-air-conditioning"].due == START - timedelta(seconds=18)
    assert planned["p2-p9-lights"].due == START - timedelta(seconds=2)
    assert planned["f13-departure"].deadline == departure + timedelta(seconds=0.8)
    assert restore_time(vip, start=START, triggers={"departure": departure}, speed=150) == \
        departure + timedelta(seconds=2)


def test_holds_begin_and_end(vip: Scene) -> None:
    holds = plan_holds(vip, start=START, triggers={}, speed=2)
    assert {h.hold.target for h in holds} == {"model_area_lights", "all_lights", "vip_room_video"}
    assert {(h.begins, h.ends) for h in holds} == {(START - timedelta(seconds=150), None)}
    departure = START + 60 * MIN
    holds = plan_holds(vip, start=START, triggers={"departure": departure}, speed=2)
    assert {h.ends for h in holds} == {departure + timedelta(seconds=150)}


@pytest.mark.parametrize(("kwargs", "says"), [
    ({"start": datetime(2026, 12, 1, 15, 0)}, "start time 2026-12-01T15:00:00 has no timezone"),
    ({"triggers": {"arrival": datetime(2026, 12, 1, 15, 0)}}, "arrival time"),
    ({"triggers": {"show-flat": START}}, "'show-flat' is not a trigger"),
    ({"triggers": {"start": START}}, "'start' is not a trigger"),
    ({"speed": 0}, "speed must be positive"),
    ({"speed": -1.0}, "speed must be positive"),
])
def test_bad_plans_are_refused(vip: Scene, kwargs: dict[str, Any], says: str) -> None:
    args: dict[str, Any] = {"start": START, "triggers": {}, **kwargs}
    with pytest.raises(ValueError, match=says):
        plan(vip, **args)


def test_utc_and_local_times_mix(vip: Scene) -> None:
    utc_arrival = datetime(2026, 12, 1, 7, 2, tzinfo=ZoneInfo("UTC"))  # 15:02 in Shanghai
    planned = by_id(plan(vip, start=START, triggers={"arrival": utc_arrival}))
    assert planned["f1-arrival"].due == START + 2 * MIN


# --- late decisions -----------------------------------------------------------------------------


def test_on_time_always_runs(vip: Scene) -> None:
    for p in plan(vip, start=START, triggers={"arrival": START}):
        if p.due is not None:
            assert lateness_decision(p, p.due) == "run"
            assert lateness_decision(p, p.due + LATE_GRACE) == "run"


def test_late_policies(vip: Scene) -> None:
    planned = by_id(plan(vip, start=START, triggers={}))
    ac, p7 = planned["p10-air-conditioning"], planned["p7-fountain"]
    # Daemon back at start+20m, no departure yet: the AC still helps, P7 is stale.
    assert lateness_decision(ac, START + 20 * MIN) == "run"
    assert lateness_decision(p7, START - 1 * MIN) == "run"
    assert lateness_decision(p7, START) == "run"
    assert lateness_decision(p7, START + timedelta(seconds=1)) == "skip"
    # After departure the AC is not worth starting.
    gone = by_id(plan(vip, start=START, triggers={"departure": START + 40 * MIN}))
    assert lateness_decision(gone["p10-air-conditioning"], START + 39 * MIN) == "run"
    assert lateness_decision(gone["p10-air-conditioning"], START + 41 * MIN) == "skip"


def test_arrival_announcement_goes_stale(vip: Scene) -> None:
    arrival = START + 1 * MIN
    f1 = by_id(plan(vip, start=START, triggers={"arrival": arrival}))["f1-arrival"]
    assert lateness_decision(f1, arrival + 90 * timedelta(seconds=1)) == "run"
    assert lateness_decision(f1, arrival + 3 * MIN) == "skip"


def test_plain_run_and_skip() -> None:
    scene = Scene.model_validate({
        "name": "t", "restore": {"at": "departure"},
        "cues": [
            {"id": "always", "at": "start-1h", "late": "run",
             "actions": [{"target": "ac", "set": {"power": True}}]},
            {"id": "never", "at": "start-1h", "late": "skip",
             "actions": [{"target": "ac", "set": {"power": True}}]},
        ],
    })
    always, never = plan(scene, start=START, triggers={}, speed=100)
    assert always.due == START - timedelta(seconds=36)
    much_later = START + timedelta(days=2)
    assert lateness_decision(always, much_later) == "run"
    assert lateness_decision(never, always.due + LATE_GRACE) == "run"  # within the grace
    assert lateness_decision(never, always.due + LATE_GRACE + timedelta(microseconds=1)) == \
        "skip"
    assert lateness_decision(never, much_later, grace=timedelta(days=3)) == "run"


def test_a_waiting_cue_cannot_be_decided(vip: Scene) -> None:
    f1 = by_id(plan(vip, start=START, triggers={}))["f1-arrival"]
    with pytest.raises(ValueError, match="f1-arrival is waiting for arrival"):
        lateness_decision(f1, START)


# --- what the cues say --------------------------------------------------------------------------


def test_preparation_in_order(vip: Scene) -> None:
    assert [c.id for c in preparation(vip)] == [
        "p10-air-conditioning", "p5-car-shade", "p6-refreshments", "p10-room-too-warm",
        "p7-fountain", "f2-umbrellas", "f2-door-party", "p2-p9-lights", "p11-promo-video"]


def test_announcements_name_the_guest(vip: Scene) -> None:
    cues = {c.id: c for c in vip.cues}
    assert announcements(vip, cues["f1-arrival"], GUEST, key="visit-7") == [
        ("staff_intercom", Announcement("visit-7:f1-arrival:announce",
                                        "王先生已到访,请各岗位做好接待工作", 7, "zh"))]
    assert announcements(vip, cues["f7-show-flat"], {"surname": "张", "honorific": "总"},
                         key="v") == [
        ("staff_intercom", Announcement("v:f7-show-flat:announce",
                                        "张总即将参观样板房,请样板房管家做好准备", 5, "zh"))]
    [(intercom, said)] = announcements(vip, cues["p7-fountain"], GUEST, key="v")
    assert (intercom, said.id, said.priority) == ("staff_intercom", "v:p7-fountain:remind", 6)
    assert said.text == "请管理层及物业经理到入口喷泉处等候王先生"
    assert announcements(vip, cues["p10-air-conditioning"], GUEST, key="v") == []
