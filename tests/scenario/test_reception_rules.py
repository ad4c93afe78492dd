"""The reception's rules over real mosquitto and the simulators, one rule a test."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from controller.store.visits import BookingRefused, VisitStatus
from tests.broker import Mosquitto
from tests.scenario.rig import site_rig
from tests.waiting import always, eventually

SPEED = 600.0  # 45 min → 4.5 s, 5 min → 0.5 s


def power_commands(commands: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(t, p) for t, p in commands if "POWER" in t or "Dimmer" in t or t.endswith("/set")]


async def test_held_lights_are_set_back_when_turned_off(
    tmp_path: Path, mosquitto: Mosquitto, topic_prefix: str
) -> None:
    async with site_rig(tmp_path, mosquitto, topic_prefix, speed=SPEED) as rig:
        visit = await rig.book(in_seconds=0.7)  # T-5 is already 0.2 s ahead
        lights = rig.sims["model_area_lights"]
        await eventually(lambda: lights.state.get("power") is True)
        held = "hold:p2-model-area-lights-held"
        await eventually(lambda: held in rig.daemon.ledger.done(visit.id))
        # Nothing in flight to the lights: the switch-off below is the only report to come.
        await eventually(lambda: not rig.daemon.registry["model_area_lights"].busy)
        loop = asyncio.get_running_loop()
        turned_off = loop.time()
        await lights.change_locally({"power": False})  # someone at the wall switch
        await eventually(lambda: lights.state.get("power") is True, timeout=2.0)
        assert loop.time() - turned_off < 2.0  # back on within 2 s of the report
        def reasserted() -> list[Any]:
            return rig.daemon.events.query(kinds=["hold_reasserted"],
                                           device_id="model_area_lights")

        await eventually(lambda: bool(reasserted()))
        events = reasserted()
        assert events[0].visit_id == visit.id
        assert events[0].result == "ok"
        assert events[0].detail == {"reported": {"power": False}, "held": {"power": True}}


async def test_restore_leaves_what_was_already_so(
    tmp_path: Path, mosquitto: Mosquitto, topic_prefix: str
) -> None:
    # Hall lights already on before the visit; model-area lights off.
    initial = {"hall_lights": {"power": True, "brightness": 60},
               "model_area_lights": {"power": False}}
    async with site_rig(tmp_path, mosquitto, topic_prefix, speed=SPEED, initial=initial) as rig:
        visit = await rig.book(in_seconds=0.7)
        await eventually(lambda: rig.sims["model_area_lights"].state.get("power") is True)
        hall = rig.sims["hall_lights"]
        sent_to_hall_before = len(power_commands(hall.commands()))
        for trigger in ("arrival", "departure"):
            assert (await rig.engine.trigger(trigger, source="test")).accepted
        await eventually(lambda: rig.daemon.book.get(visit.id).status is VisitStatus.DONE)
        assert rig.sims["model_area_lights"].state["power"] is False  # changed → restored
        assert hall.state["power"] is True  # already on → left on
        assert hall.state["brightness"] == 60
        # Nothing was ever sent to the hall lights: they were already as wanted.
        assert len(power_commands(hall.commands())) == sent_to_hall_before == 0


async def test_overlap_is_refused_with_the_next_free_slot(
    tmp_path: Path, mosquitto: Mosquitto, topic_prefix: str
) -> None:
    async with site_rig(tmp_path, mosquitto, topic_prefix, speed=SPEED) as rig:
        first = await rig.book(in_seconds=3600, duration=60)
        with pytest.raises(BookingRefused) as refused:
            await rig.book(in_seconds=3600 + 1800, surname="李", honorific="女士")
        assert refused.value.collides_with == first.id
        # P1: start + duration + teardown (the restore's 5 minutes after departure).
        assert refused.value.next_free >= first.end + timedelta(minutes=5) / SPEED
        assert refused.value.next_free - first.end < timedelta(seconds=2)
        assert "王先生" in refused.value.reason or "王" in refused.value.reason


async def test_moved_visit_takes_its_schedule_along(
    tmp_path: Path, mosquitto: Mosquitto, topic_prefix: str
) -> None:
    async with site_rig(tmp_path, mosquitto, topic_prefix, speed=SPEED) as rig:
        ac = rig.sims["vip_room_ac"]
        visit = await rig.book(in_seconds=5.5)  # T-45 at +1.0 s
        old_t45 = visit.start - timedelta(minutes=45) / SPEED
        moved = await rig.engine.move_visit(visit.id, visit.start + timedelta(seconds=2.5),
                                            None, source="test")
        # The old T-45 comes and goes (plus a margin): nothing may happen at it. Not a settle:
        # procedure time passing with nothing to happen is the behaviour under test.
        quiet = (old_t45 - rig.now()).total_seconds() + 0.6
        await always(lambda: ac.state.get("power") is not True, during=quiet)
        assert "p10-air-conditioning" not in rig.daemon.ledger.done(visit.id)
        await eventually(lambda: ac.state.get("power") is True, timeout=4)  # new T-45 at +3.5 s
        assert moved.start == visit.start + timedelta(seconds=2.5)


async def test_cancel_after_preparation_tears_down(
    tmp_path: Path, mosquitto: Mosquitto, topic_prefix: str
) -> None:
    initial = {"lobby_thermostat": {"power": True, "mode": "heat", "setpoint": 20.0},
               "model_area_lights": {"power": False}}
    async with site_rig(tmp_path, mosquitto, topic_prefix, speed=SPEED, initial=initial) as rig:
        visit = await rig.book(in_seconds=0.7)
        await eventually(lambda: rig.sims["model_area_lights"].state.get("power") is True)
        thermostat = rig.sims["lobby_thermostat"]
        await eventually(lambda: thermostat.state.get("mode") == "cool")
        await rig.engine.cancel_visit(visit.id, "guest delayed to tomorrow", source="test")
        await eventually(lambda: rig.sims["model_area_lights"].state.get("power") is False)
        await eventually(lambda: thermostat.state.get("mode") == "heat")
        assert thermostat.state["setpoint"] == 20.0
        assert rig.daemon.book.get(visit.id).status is VisitStatus.CANCELLED
        assert ("restore", "ok") in rig.kinds(visit.id)
        # Cancelled: the arrival can no longer be announced for it.
        result = await rig.engine.trigger("arrival", source="test", visit_id=visit.id)
        assert not result.accepted


async def test_vip_now_prepares_at_once_in_order_and_waits_for_arrival(
    tmp_path: Path, mosquitto: Mosquitto, topic_prefix: str
) -> None:
    async with site_rig(tmp_path, mosquitto, topic_prefix, speed=1.0) as rig:  # real time
        message = await rig.daemon.press("vip_now", source="test")
        visit_id = message.split()[-1]
        # At speed 1 the preparation would take 45 minutes: it ran at once instead.
        assert rig.sims["vip_room_ac"].state.get("power") is True
        assert rig.sims["model_area_lights"].state.get("power") is True
        cues = [e.detail["cue"] for e in reversed(rig.daemon.events.query(
            visit_id=visit_id, kinds=["cue"])) if e.result == "started"]
        assert cues == ["p10-air-conditioning", "p5-car-shade", "p6-refreshments",
                        "p7-fountain", "p2-p9-lights", "p11-promo-video"]
        assert rig.daemon.book.get(visit_id).status is VisitStatus.PREPARING
        assert not any("已到访" in s for s in rig.said())
        assert (await rig.engine.trigger("arrival", source="test")).accepted
        await eventually(lambda: "贵宾已到访,请各岗位做好接待工作" in rig.said())


async def test_arrival_for_a_visit_that_is_not_current_is_refused(
    tmp_path: Path, mosquitto: Mosquitto, topic_prefix: str
) -> None:
    async with site_rig(tmp_path, mosquitto, topic_prefix, speed=SPEED) as rig:
        current = await rig.book(in_seconds=0.6)
        later = await rig.book(in_seconds=3 * 3600, surname="李", honorific="女士")
        assert (await rig.engine.trigger("arrival", source="test")).accepted
        result = await rig.engine.trigger("arrival", source="test", visit_id=later.id)
        assert not result.accepted
        assert current.id in result.message
        await eventually(lambda: "王先生已到访,请各岗位做好接待工作" in rig.said())
        await always(lambda: not any(s.startswith("李女士") for s in rig.said()))


async def test_back_to_back_visits_restore_does_not_undo_the_next_preparation(
    tmp_path: Path, mosquitto: Mosquitto, topic_prefix: str
) -> None:
    """Visit B's T-5 lights come before visit A's restore: A's restore must leave them on."""
    initial = {"model_area_lights": {"power": False}, "hall_lights": {"power": False}}
    async with site_rig(tmp_path, mosquitto, topic_prefix, speed=SPEED, initial=initial) as rig:
        lights = rig.sims["model_area_lights"]
        slot = timedelta(seconds=6)  # an hour at x600
        a = await rig.book(in_seconds=0.6, duration=slot)
        # Back to back: B starts right after A's slot and its teardown (5 min / 600).
        b = await rig.book(start=a.start + slot + timedelta(seconds=0.5), duration=slot,
                           surname="李", honorific="女士")
        await eventually(lambda: lights.state.get("power") is True)
        assert (await rig.engine.trigger("arrival", source="test", visit_id=a.id)).accepted
        # A leaves late in its slot: its restore (departure + 0.5 s) falls after B's T-5.
        # Not a settle: procedure time passes until the guest leaves, as in the scenario.
        await asyncio.sleep(max(0.0, (a.start + timedelta(seconds=5.8) - rig.now())
                                .total_seconds()))
        assert (await rig.engine.trigger("departure", source="test", visit_id=a.id)).accepted
        await eventually(lambda: rig.daemon.book.get(a.id).status is VisitStatus.DONE)
        assert "p2-p9-lights" in rig.daemon.ledger.done(b.id)  # B's T-5 came first
        await eventually(lambda: ("restore", "ok") in rig.kinds(a.id))  # A's restore is over
        assert lights.state["power"] is True  # A's restore did not undo B's lights
        assert rig.sims["hall_lights"].state["power"] is True
        # B's own restore, at last, brings back the everyday state.
        assert (await rig.engine.trigger("arrival", source="test")).accepted
        assert (await rig.engine.trigger("departure", source="test")).accepted
        await eventually(lambda: rig.daemon.book.get(b.id).status is VisitStatus.DONE)
        await eventually(lambda: lights.state.get("power") is False)
        assert rig.sims["hall_lights"].state["power"] is False


async def test_nobody_came_is_a_no_show_and_the_site_goes_back(
    tmp_path: Path, mosquitto: Mosquitto, topic_prefix: str
) -> None:
    initial = {"model_area_lights": {"power": False}}
    async with site_rig(tmp_path, mosquitto, topic_prefix, speed=SPEED, initial=initial) as rig:
        visit = await rig.book(in_seconds=0.7, duration=timedelta(seconds=1.5))
        lights = rig.sims["model_area_lights"]
        await eventually(lambda: lights.state.get("power") is True)
        await eventually(lambda: rig.daemon.book.get(visit.id).status is VisitStatus.NO_SHOW)
        await eventually(lambda: lights.state.get("power") is False)
        await eventually(lambda: ("restore", "ok") in rig.kinds(visit.id))
        assert not any("已到访" in s for s in rig.said())


async def test_a_guest_who_comes_early_gets_the_site_ready_without_stale_reminders(
    tmp_path: Path, mosquitto: Mosquitto, topic_prefix: str
) -> None:
    async with site_rig(tmp_path, mosquitto, topic_prefix, speed=SPEED) as rig:
        # 55 minutes early: T-45 is still 1 s away; within the hour, one press will do.
        visit = await rig.book(in_seconds=5.5)
        # The sensors' first reports are in (their cues are judged at once with the others).
        await eventually(lambda: rig.daemon.registry["outdoor_weather"].state.get("rain")
                         is not None)
        await eventually(lambda: rig.daemon.registry["vip_room_climate"].state.get(
            "temperature") is not None)
        assert (await rig.engine.trigger("arrival", source="test")).accepted
        # The preparation starts with the welcome (which does not wait for it)...
        await eventually(lambda: "王先生已到访,请各岗位做好接待工作" in rig.said())
        await eventually(lambda: rig.sims["vip_room_ac"].state.get("power") is True)
        await eventually(lambda: rig.sims["model_area_lights"].state.get("power") is True)
        # ...but "the guest comes in thirty minutes" is not said to staff greeting him.
        assert rig.said() == ["王先生已到访,请各岗位做好接待工作"]
        skipped = [e for e in rig.daemon.events.query(visit_id=visit.id, kinds=["cue"])
                   if e.result == "skipped"]
        assert {e.detail["cue"] for e in skipped if "message" in e.detail} == {
            "p5-car-shade", "p6-refreshments", "p7-fountain"}
        # The conditional ones were judged, too: a dry day, a party of one, a cool room.
        assert {e.detail["cue"]: e.detail["reason"] for e in skipped if "reason" in e.detail} \
            == dict.fromkeys(("f2-umbrellas", "f2-door-party", "p10-room-too-warm"), "condition")
