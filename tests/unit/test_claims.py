"""Layered claims: priorities, ties, floors, baseline, override, release of real changes only."""

from __future__ import annotations

import json

from devices.model import State
from scenes.claims import OVERRIDE_LAYER, ClaimTable

ON: State = {"power": True}
OFF: State = {"power": False}
LIGHTS, MUSIC, AC = "model_area_lights", "background_music", "vip_room_ac"


def test_second_visit_keeps_the_lights_on() -> None:
    table = ClaimTable()
    assert table.claim("visit:A", 50, LIGHTS, ON, reported=OFF) == {"power": True}
    assert table.claim("visit:B", 50, LIGHTS, ON, reported=ON) == {}
    assert table.release("visit:A", reported={LIGHTS: ON}) == {}  # B still holds them on
    assert table.effective(LIGHTS) == {"power": True}
    assert table.release("visit:B", reported={LIGHTS: ON}) == {LIGHTS: {"power": False}}
    assert table.effective(LIGHTS) == {}
    assert table.layers() == set()


def test_second_visit_released_first() -> None:
    table = ClaimTable()
    table.claim("visit:A", 50, LIGHTS, ON, reported=OFF)
    table.claim("visit:B", 50, LIGHTS, ON, reported=ON)
    assert table.release("visit:B", reported={LIGHTS: ON}) == {}
    assert table.release("visit:A", reported={LIGHTS: ON}) == {LIGHTS: {"power": False}}


def test_what_was_already_so_is_left_alone() -> None:
    table = ClaimTable()
    assert table.claim("visit:A", 50, LIGHTS, ON, reported=ON) == {}  # nothing to send
    assert table.release("visit:A", reported={LIGHTS: ON}) == {}
    assert table.release("visit:A") == {}  # releasing twice is harmless


def test_baseline_music_is_never_turned_off() -> None:
    table = ClaimTable()
    assert table.baseline(MUSIC, {"power": True, "volume": 30}, reported={"power": False}) == \
        {"power": True, "volume": 30}
    assert table.claim("visit:A", 50, MUSIC, {"power": True, "volume": 50},
                       reported={"power": True, "volume": 30}) == {"volume": 50}
    released = table.release("visit:A", reported={MUSIC: {"power": True, "volume": 50}})
    assert released == {MUSIC: {"volume": 30}}
    assert table.effective(MUSIC) == {"power": True, "volume": 30}


def test_baseline_wins_over_the_floor() -> None:
    table = ClaimTable()
    table.claim("visit:A", 50, MUSIC, {"power": True}, reported={"power": False})
    table.baseline(MUSIC, {"power": True})
    assert table.release("visit:A", reported={MUSIC: {"power": True}}) == {}


def test_baseline_is_not_sent_where_a_claim_decides() -> None:
    table = ClaimTable()
    table.claim("visit:A", 50, MUSIC, {"volume": 50}, reported={"volume": 10})
    assert table.baseline(MUSIC, {"volume": 30, "power": True}, reported={"volume": 50}) == \
        {"power": True}


def test_higher_priority_wins_whatever_the_order() -> None:
    table = ClaimTable()
    table.claim("high", 60, LIGHTS, {"brightness": 100}, reported={"brightness": 10})
    assert table.claim("low", 40, LIGHTS, {"brightness": 50}) == {}  # outranked: nothing sent
    assert table.effective(LIGHTS) == {"brightness": 100}
    assert table.release("high", reported={LIGHTS: {"brightness": 100}}) == \
        {LIGHTS: {"brightness": 50}}
    assert table.release("low", reported={LIGHTS: {"brightness": 50}}) == \
        {LIGHTS: {"brightness": 10}}  # the floor is the first claim's report


def test_ties_go_to_the_most_recent_claim() -> None:
    table = ClaimTable()
    table.claim("a", 50, LIGHTS, {"brightness": 80}, reported={"brightness": 0})
    assert table.claim("b", 50, LIGHTS, {"brightness": 60}) == {"brightness": 60}
    assert table.claim("a", 50, LIGHTS, {"brightness": 90}) == {"brightness": 90}
    assert table.release("a", reported={LIGHTS: {"brightness": 90}}) == \
        {LIGHTS: {"brightness": 60}}


def test_later_claims_do_not_move_the_floor() -> None:
    table = ClaimTable()
    table.claim("visit:A", 50, AC, {"power": True, "mode": "cool", "setpoint": 24},
                reported={"power": False, "mode": "heat", "setpoint": 20.0})
    # Someone turned the set point to 22 meanwhile; the second visit's report says so.
    table.claim("visit:B", 50, AC, {"setpoint": 24},
                reported={"power": True, "mode": "cool", "setpoint": 22.0})
    # A still claims 24: no change of effective value, so nothing is sent (not a hold).
    assert table.release("visit:B", reported={AC: {"setpoint": 22.0}}) == {}
    assert table.release("visit:A", reported={AC: {"power": True, "mode": "cool",
                                                   "setpoint": 24.0}}) == \
        {AC: {"power": False, "mode": "heat", "setpoint": 20.0}}


def test_release_skips_what_the_device_already_shows() -> None:
    table = ClaimTable()
    table.claim("visit:A", 50, AC, {"power": True, "setpoint": 24},
                reported={"power": False, "setpoint": 26})
    # Staff switched the AC off by hand already; only the set point still differs.
    assert table.release("visit:A", reported={AC: {"power": False, "setpoint": 24.0}}) == \
        {AC: {"setpoint": 26}}


def test_numbers_compare_with_tolerance() -> None:
    table = ClaimTable()
    assert table.claim("a", 50, AC, {"setpoint": 24}, reported={"setpoint": 24.0}) == {}
    assert table.release("a", reported={AC: {"setpoint": 24}}) == {}


def test_unknown_floor_restores_nothing() -> None:
    table = ClaimTable()
    assert table.claim("a", 50, LIGHTS, ON) == {"power": True}  # device never reported
    assert table.release("a", reported={LIGHTS: ON}) == {}


def test_release_one_device_only() -> None:
    table = ClaimTable()
    table.claim("a", 50, LIGHTS, ON, reported=OFF)
    table.claim("a", 50, "hall_lights", ON, reported=OFF)
    assert table.release("a", device="hall_lights") == {"hall_lights": {"power": False}}
    assert table.claimed("a") == {LIGHTS: {"power": True}}


def test_override_outranks_scene_and_suspends_the_hold() -> None:
    table = ClaimTable()
    table.claim("visit:A", 50, LIGHTS, ON, reported=OFF, hold=True)
    assert table.holds_for(LIGHTS) == {"power": True}
    assert table.override(LIGHTS, OFF) == {"power": False}
    assert table.effective(LIGHTS) == {"power": False}
    assert table.holds_for(LIGHTS) == {}  # a person decided: nothing re-asserted
    assert table.release(OVERRIDE_LAYER, device=LIGHTS, reported={LIGHTS: OFF}) == \
        {LIGHTS: {"power": True}}
    assert table.holds_for(LIGHTS) == {"power": True}
    # A scene's restore while an override stands changes nothing on the device.
    table.override(LIGHTS, ON)
    assert table.release("visit:A", reported={LIGHTS: ON}) == {}
    assert table.release(OVERRIDE_LAYER, reported={LIGHTS: ON}) == {LIGHTS: {"power": False}}


def test_holds_for_follows_the_deciding_claim() -> None:
    table = ClaimTable()
    table.baseline(MUSIC, {"power": True, "volume": 30})
    table.baseline(LIGHTS, {"brightness": 40}, hold=False)
    assert table.holds_for(MUSIC) == {"power": True, "volume": 30}
    assert table.holds_for(LIGHTS) == {}
    table.claim("visit:A", 50, MUSIC, {"volume": 60}, reported={"volume": 30})  # not a hold
    assert table.holds_for(MUSIC) == {"power": True}
    table.claim("visit:A", 50, MUSIC, {"power": True})  # agrees with the held baseline
    assert table.holds_for(MUSIC) == {"power": True}
    table.claim("visit:A", 50, LIGHTS, {"power": True}, hold=True, reported=OFF)
    assert table.holds_for(LIGHTS) == {"power": True}
    table.release("visit:A")
    assert table.holds_for(MUSIC) == {"power": True, "volume": 30}
    assert table.holds_for(LIGHTS) == {}


def test_a_hold_is_enforced_while_its_value_decides() -> None:
    table = ClaimTable()
    table.claim("visit:A", 50, LIGHTS, {"power": True, "brightness": 100}, reported=OFF,
                hold=True)
    table.claim("visit:B", 50, LIGHTS, {"power": True, "brightness": 80})  # newer, no hold
    assert table.holds_for(LIGHTS) == {"power": True}  # B agrees on power: still held
    table.release("visit:B")
    assert table.holds_for(LIGHTS) == {"power": True, "brightness": 100}


def test_back_to_back_visits_overlap() -> None:
    """B's preparation (AC at T-45, lights at T-5) runs before A's restore."""
    table = ClaimTable()
    before: dict[str, State] = {LIGHTS: OFF, AC: {"power": False}}
    table.claim("visit:A", 50, AC, {"power": True, "setpoint": 24}, reported=before[AC])
    table.claim("visit:A", 50, LIGHTS, ON, reported=before[LIGHTS], hold=True)
    now: dict[str, State] = {LIGHTS: ON, AC: {"power": True, "setpoint": 24}}
    assert table.claim("visit:B", 50, AC, {"power": True, "setpoint": 23},
                       reported=now[AC]) == {"setpoint": 23}
    assert table.claim("visit:B", 50, LIGHTS, ON, reported=now[LIGHTS], hold=True) == {}
    assert table.release("visit:A", reported=now) == {}
    assert table.holds_for(LIGHTS) == {"power": True}
    assert table.release("visit:B", reported=now) == {LIGHTS: {"power": False},
                                                      AC: {"power": False}}


def test_snapshot_survives_a_restart() -> None:
    table = ClaimTable()
    table.baseline(MUSIC, {"power": True})
    table.claim("visit:A", 50, LIGHTS, ON, reported=OFF, hold=True)
    table.claim("visit:B", 50, LIGHTS, ON, reported=ON)
    restored = ClaimTable.from_dict(json.loads(json.dumps(table.to_dict())))
    assert restored.to_dict() == table.to_dict()
    assert restored.holds_for(LIGHTS) == {"power": True}
    assert restored.holds_for(MUSIC) == {"power": True}
    assert restored.release("visit:A", reported={LIGHTS: ON}) == {}
    assert restored.claim("visit:C", 50, LIGHTS, ON) == {}  # seq carried on: C is newest
    restored.release("visit:C")
    assert restored.release("visit:B", reported={LIGHTS: ON}) == {LIGHTS: {"power": False}}
