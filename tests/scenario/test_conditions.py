"""Cues with a `when:` over real mosquitto and the sensor simulators: each condition is
judged at the cue's time, a false one skips the cue with the reason in the event log, and a
missing sensor is decided by the cue's `if_unknown`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from simulators.tasmota_sensor import TasmotaSensor
from simulators.zigbee2mqtt import Sensor
from tests.broker import Mosquitto
from tests.scenario.rig import SiteRig, site_rig
from tests.waiting import eventually

SPEED = 600.0  # start-15m is 1.5 s before the start, start-10m 1 s
AHEAD_S = 2.5  # booked this far ahead: the conditional cues come 1-1.5 s after booking
UMBRELLAS = "室外正在下雨,请礼宾备好雨伞,王先生下车时为贵宾撑伞"
FOUNTAIN = "请管理层及物业经理到入口喷泉处等候王先生"  # said at start-10m, with them
TOO_WARM = "VIP室空调已开启三十分钟,室温仍高于27度,请工程部立即检查空调"


def rain(rig: SiteRig) -> Sensor:
    sim = rig.sims["outdoor_weather"]
    assert isinstance(sim, Sensor)
    return sim


def room(rig: SiteRig) -> TasmotaSensor:
    sim = rig.sims["vip_room_climate"]
    assert isinstance(sim, TasmotaSensor)
    return sim


def cue_event(rig: SiteRig, visit_id: str, cue: str, result: str) -> dict[str, Any] | None:
    for event in rig.daemon.events.query(visit_id=visit_id, kinds=["cue"], limit=500):
        if event.detail.get("cue") == cue and event.result == result:
            return dict(event.detail)
    return None


async def test_rain_that_starts_after_the_booking_gets_the_umbrellas_out(
    tmp_path: Path, mosquitto: Mosquitto, topic_prefix: str
) -> None:
    async with site_rig(tmp_path, mosquitto, topic_prefix, speed=SPEED) as rig:
        visit = await rig.book(in_seconds=AHEAD_S)  # a dry day when booked
        await rain(rig).set_reading(rain=True)
        await eventually(lambda: UMBRELLAS in rig.said())
        started = cue_event(rig, visit.id, "f2-umbrellas", "started")
        assert started is not None
        assert (started["condition"], started["value"]) == ("outdoor_weather.rain == true", True)
        await eventually(lambda: rig.daemon.ledger.results(visit.id)["f2-umbrellas"] == "ok")


async def test_rain_that_stops_before_the_check_says_nothing_and_logs_why(
    tmp_path: Path, mosquitto: Mosquitto, topic_prefix: str
) -> None:
    async with site_rig(tmp_path, mosquitto, topic_prefix, speed=SPEED) as rig:
        await rain(rig).set_reading(rain=True)  # raining when booked
        await eventually(lambda: rig.daemon.registry["outdoor_weather"].state.get("rain"))
        visit = await rig.book(in_seconds=AHEAD_S)
        await rain(rig).set_reading(rain=False)
        skipped = await eventually(lambda: cue_event(rig, visit.id, "f2-umbrellas", "skipped"))
        assert skipped == {"cue": "f2-umbrellas", "reason": "condition",
                           "condition": "outdoor_weather.rain == true", "value": False}
        await eventually(lambda: FOUNTAIN in rig.said())  # its neighbour at start-10m
        assert UMBRELLAS not in rig.said()
        assert rig.daemon.ledger.results(visit.id)["f2-umbrellas"] == "skipped"


@pytest.mark.parametrize(("party", "said"), [(2, False), (5, True)])
async def test_enough_concierges_at_the_door_for_a_party_of_four_or_more(
    tmp_path: Path, mosquitto: Mosquitto, topic_prefix: str, party: int, said: bool
) -> None:
    door = f"王先生一行{party}人,请安排足够的礼宾在门口为贵宾开车门"
    async with site_rig(tmp_path, mosquitto, topic_prefix, speed=SPEED) as rig:
        visit = await rig.book(in_seconds=AHEAD_S, party_size=party)
        await eventually(lambda: FOUNTAIN in rig.said())
        if said:
            await eventually(lambda: door in rig.said())
        else:
            skipped = await eventually(
                lambda: cue_event(rig, visit.id, "f2-door-party", "skipped"))
            assert skipped == {"cue": "f2-door-party", "reason": "condition",
                               "condition": "party_size >= 4", "value": 2}
            assert door not in rig.said()


async def test_a_vip_room_still_warm_is_told_to_engineering(
    tmp_path: Path, mosquitto: Mosquitto, topic_prefix: str
) -> None:
    async with site_rig(tmp_path, mosquitto, topic_prefix, speed=SPEED) as rig:
        visit = await rig.book(in_seconds=AHEAD_S)
        await room(rig).set_reading(temperature=28.5)  # the AC is on, the room is not cool
        await eventually(lambda: TOO_WARM in rig.said())
        started = cue_event(rig, visit.id, "p10-room-too-warm", "started")
        assert started is not None and started["value"] == 28.5


async def test_a_missing_sensor_is_decided_by_the_cues_policy(
    tmp_path: Path, mosquitto: Mosquitto, topic_prefix: str
) -> None:
    async with site_rig(tmp_path, mosquitto, topic_prefix, speed=SPEED) as rig:
        # Both sensors' last readings would say "no": dry, and warm enough to alert.
        await room(rig).set_reading(temperature=29.0)
        await eventually(
            lambda: rig.daemon.registry["vip_room_climate"].state.get("temperature") == 29.0)
        await rain(rig).go_offline()
        await room(rig).go_offline()
        await eventually(lambda: rig.daemon.registry["outdoor_weather"].available is False)
        await eventually(lambda: rig.daemon.registry["vip_room_climate"].available is False)
        visit = await rig.book(in_seconds=AHEAD_S)
        # The umbrellas' policy is run: a needless reminder costs less than a missed one.
        await eventually(lambda: UMBRELLAS in rig.said())
        started = cue_event(rig, visit.id, "f2-umbrellas", "started")
        assert started is not None
        assert (started["reason"], started["value"]) == ("sensor_missing", None)
        # The warm room's is skip: the old 29 °C is not a reading of now.
        skipped = await eventually(
            lambda: cue_event(rig, visit.id, "p10-room-too-warm", "skipped"))
        assert skipped == {"cue": "p10-room-too-warm", "reason": "sensor_missing",
                           "condition": "vip_room_climate.temperature > 27", "value": None}
        assert TOO_WARM not in rig.said()
        assert rig.daemon.ledger.results(visit.id)["p10-room-too-warm"] == "skipped"
