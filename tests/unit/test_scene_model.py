"""The scene file's schema: the offset grammar, cues, holds and restore, every validation
error."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from scenes.model import Scene
from scenes.offsets import At, Late
from tests.unit.scene_data import DEMO_ATTRIBUTES, MINIMAL, errors, scene

# --- the offset grammar ---------------------------------------------------------------------


@pytest.mark.parametrize(("text", "anchor", "offset"), [
    ("start-45m", "start", -timedelta(minutes=45)),
    ("start-10m", "start", -timedelta(minutes=10)),
    ("start", "start", timedelta(0)),
    ("start+30s", "start", timedelta(seconds=30)),
    ("arrival", "arrival", timedelta(0)),
    ("show_flat", "show_flat", timedelta(0)),
    ("departure", "departure", timedelta(0)),
    ("departure+5m", "departure", timedelta(minutes=5)),
    ("arrival+1m", "arrival", timedelta(minutes=1)),
    ("start-1h30m", "start", -timedelta(hours=1, minutes=30)),
    ("departure+2h5s", "departure", timedelta(hours=2, seconds=5)),
    (" start - 45m ", "start", -timedelta(minutes=45)),
])
def test_offsets_parse(text: str, anchor: str, offset: timedelta) -> None:
    assert At.parse(text) == At(anchor, offset)  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["start-45m", "start", "arrival+1m", "start-1h30m",
                                  "departure+2h5s"])
def test_offsets_print_as_written(text: str) -> None:
    assert str(At.parse(text)) == text


@pytest.mark.parametrize(("text", "says"), [
    ("begin-5m", "'begin' is not one of start, arrival, show_flat, departure"),
    ("start-45min", "malformed offset"),
    ("start-45", "malformed offset"),
    ("start-", "malformed offset"),
    ("start-30m1h", "malformed offset"),
    ("start 45m", "not a point of the visit"),
    ("", "not a point of the visit"),
])
def test_bad_offsets_say_what_is_allowed(text: str, says: str) -> None:
    with pytest.raises(ValueError, match=r"e\.g\. start-45m") as info:
        At.parse(text)
    assert says in str(info.value)


@pytest.mark.parametrize("text", ["arrival-1m", "show_flat-30s", "departure-5m"])
def test_negative_trigger_offset_is_explained(text: str) -> None:
    anchor = text.split("-")[0]
    with pytest.raises(ValueError, match=f"only start can take a negative offset \\({anchor} "
                       "is a trigger, not known in advance"):
        At.parse(text)


@pytest.mark.parametrize("text", ["start-99999999999999999999h", "departure+49h", "start+3000m"])
def test_huge_offsets_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="an offset is at most 2 days"):
        At.parse(text)
    assert At.parse("start-48h") == At("start", -timedelta(days=2))


@pytest.mark.parametrize("value", [None, 3.5, [], {"anchor": "start"}, True])
def test_non_text_offsets_are_field_errors(value: Any) -> None:
    data = scene(cues=[{**MINIMAL["cues"][0], "at": value}])
    [(where, message)] = errors(data)
    assert where == "cues.0.at"
    assert "is not a point of the visit" in message


def test_offset_in_a_cue_is_a_field_error() -> None:
    data = scene(cues=[{**MINIMAL["cues"][0], "at": 45}])
    assert errors(data) == [("cues.0.at", "45 is not a point of the visit: write an anchor "
                             "(start, arrival, show_flat, departure) with an optional offset "
                             "in h, m, s, e.g. start-45m, start, arrival+1m, departure+1h30m")]


# --- cues -----------------------------------------------------------------------------------


def test_minimal_scene_and_defaults() -> None:
    s = Scene.model_validate(scene())
    cue = s.cues[0]
    assert cue.at == At("start", -timedelta(minutes=5))
    assert cue.late == Late("skip")
    assert cue.actions[0].state.as_state() == {"power": True}
    assert s.priority == 50
    assert s.announcements is not None and s.announcements.priority == 5


@pytest.mark.parametrize(("late", "expected"), [
    ("run", Late("run")),
    ("skip", Late("skip")),
    ({"run_until": "start"}, Late("run_until", At("start"))),
    ({"run_until": "departure+2m"}, Late("run_until", At("departure", timedelta(minutes=2)))),
    ({"run_until": "end"}, Late("run_until", "end")),
])
def test_late_policies(late: Any, expected: Late) -> None:
    data = scene(cues=[{**MINIMAL["cues"][0], "late": late}])
    assert Scene.model_validate(data).cues[0].late == expected


@pytest.mark.parametrize("late", ["runn", {"run_until": "start", "x": 1}, {"until": "start"}, 3])
def test_bad_late_policy(late: Any) -> None:
    data = scene(cues=[{**MINIMAL["cues"][0], "late": late}])
    [(where, message)] = errors(data)
    assert where == "cues.0.late"
    assert "write run, skip or {run_until: <point>}" in message


def test_bad_run_until_point() -> None:
    data = scene(cues=[{**MINIMAL["cues"][0], "late": {"run_until": "arival"}}])
    [(where, message)] = errors(data)
    assert (where, message[:45]) == ("cues.0.late", "'arival' is not one of start, arrival, show_f")


@pytest.mark.parametrize(("state", "where", "says"), [
    ({"brightness": 101}, "brightness", "less than or equal to 100"),
    ({"brightness": -1}, "brightness", "greater than or equal to 0"),
    ({"brightness": True}, "brightness", "valid integer"),
    ({"volume": 150}, "volume", "less than or equal to 100"),
    ({"setpoint": 9}, "setpoint", "greater than or equal to 10"),
    ({"setpoint": 36.5}, "setpoint", "less than or equal to 35"),
    ({"setpoint": "24"}, "setpoint", "valid number"),
    ({"mode": "cooling"}, "mode", "'cooling' is not one of off, cool, heat, auto, dry, fan_only"),
    ({"fan": "max"}, "fan", "'max' is not one of auto, low, medium, high"),
    ({"playback": "play"}, "playback", "'play' is not one of playing, paused, stopped"),
    ({"power": "maybe"}, "power", "valid boolean"),
    ({"loop": 1}, "loop", "valid boolean"),
    ({"media": ""}, "media", "at least 1 character"),
    ({"colour": "red"}, "colour", "Extra inputs are not permitted"),
    ({}, "", "name at least one attribute to set"),
])
def test_state_is_validated_per_attribute(state: dict[str, Any], where: str, says: str) -> None:
    data = scene(cues=[{"id": "c", "at": "start", "actions": [{"target": "t", "set": state}]}])
    [(loc, message)] = errors(data)
    assert loc == "cues.0.actions.0.set" + (f".{where}" if where else "")
    assert says in message


def test_state_accepts_the_vocabulary() -> None:
    state = {"power": True, "brightness": 80, "mode": "cool", "setpoint": 24, "fan": "auto",
             "playback": "playing", "media": "promo.mp4", "loop": True, "volume": 30}
    data = scene(cues=[{"id": "c", "at": "start", "actions": [{"target": "t", "set": state}]}])
    got = Scene.model_validate(data).cues[0].actions[0].state.as_state()
    assert got == {**state, "setpoint": 24.0}


def test_cue_must_do_something() -> None:
    assert errors(scene(cues=[{"id": "c", "at": "start"}])) == [
        ("cues.0", "a cue needs at least one of actions, announce, remind")]


@pytest.mark.parametrize(("cue", "where", "says"), [
    ({"id": "Bad Id", "at": "start", "remind": {"for": "保安", "text": "x"}}, "cues.0.id",
     "should match pattern"),
    ({"at": "start", "remind": {"for": "保安", "text": "x"}}, "cues.0.id", "Field required"),
    ({"id": "c", "remind": {"for": "保安", "text": "x"}}, "cues.0.at", "Field required"),
    ({"id": "c", "at": "start", "remind": {"text": "x"}}, "cues.0.remind.for", "Field required"),
    ({"id": "c", "at": "start", "remind": {"for": [], "text": "x"}}, "cues.0.remind.for",
     "at least 1 item"),
    ({"id": "c", "at": "start", "announce": {"text": "{name}到了"}}, "cues.0.announce.text",
     "{name} is not a known placeholder"),
    ({"id": "c", "at": "start", "announce": {"text": "x", "priority": 10}},
     "cues.0.announce.priority", "less than or equal to 9"),
    ({"id": "c", "at": "start", "announce": {"text": "x", "voice": "f"}},
     "cues.0.announce.voice", "Extra inputs are not permitted"),
    ({"id": "c", "at": "start", "actions": [{"set": {"power": True}}]},
     "cues.0.actions.0.target", "Field required"),
    ({"id": "c", "at": "start", "actions": [{"target": "x", "state": {"power": True}}]},
     "cues.0.actions.0.state", "Extra inputs are not permitted"),
])
def test_cue_errors_name_the_field(cue: dict[str, Any], where: str, says: str) -> None:
    found = errors(scene(cues=[cue]))
    assert any(loc == where and says in message for loc, message in found), found


def test_remind_for_one_or_many() -> None:
    one = {"id": "a", "at": "start-30m", "remind": {"for": "保安", "text": "遮阳"}}
    many = {"id": "b", "at": "start-30m", "remind": {"for": ["保洁", "水吧"], "text": "果盘"}}
    s = Scene.model_validate(scene(cues=[one, many]))
    assert [c.remind.audience for c in s.cues if c.remind] == [["保安"], ["保洁", "水吧"]]


# --- holds, restore, whole-scene checks --------------------------------------------------------


def hold(**changes: Any) -> dict[str, Any]:
    return {"id": "h", "target": "hall_lights", "state": {"power": True}, "from": "start-5m",
            **changes}


def test_hold_defaults_to_the_end() -> None:
    s = Scene.model_validate(scene(holds=[hold()]))
    assert (s.holds[0].start, s.holds[0].until) == (At("start", -timedelta(minutes=5)), "end")


@pytest.mark.parametrize(("changes", "where", "says"), [
    ({"until": "start-10m"}, "holds.0", "until start-10m is not after from start-5m"),
    ({"until": "ending"}, "holds.0.until", "'ending' is not one of start"),
    ({"from": "end"}, "holds.0.from", "'end' is not one of start"),
    ({"until": "departure+10m"}, "holds.0.until", "departure+10m is after the restore"),
])
def test_hold_errors(changes: dict[str, Any], where: str, says: str) -> None:
    found = errors(scene(holds=[hold(**changes)]))
    assert any(loc.startswith(where) and says in m for loc, m in found), found


def test_restore_cannot_come_before_the_visit() -> None:
    [(where, message)] = errors(scene(restore={"at": "start-5m"}))
    assert where == "restore.at"
    assert "would come before the visit" in message


def test_duplicate_ids_and_late_actions_are_refused() -> None:
    cues = [MINIMAL["cues"][0], {**MINIMAL["cues"][0], "at": "departure+10m"}]
    assert errors(scene(cues=cues, holds=[hold(id="lights")])) == [
        ("cues.1.id", "'lights' is already the id of cues[0]"),
        ("holds.0.id", "'lights' is already the id of cues[0]"),
        ("cues.1.at", "actions at departure+10m would outlast the restore at departure+5m"),
    ]


def test_announcement_needs_an_intercom() -> None:
    data = scene(cues=[{"id": "a", "at": "arrival", "announce": {"text": "到了"}}])
    del data["announcements"]
    assert errors(data) == [
        ("cues.0.announce", "no intercom: name one here or in the scene's announcements")]
    data["cues"][0]["announce"]["intercom"] = "staff_intercom"
    assert Scene.model_validate(data).targets() == {"staff_intercom"}


def test_unknown_fields_refused_everywhere() -> None:
    assert ("nmae", "Extra inputs are not permitted") in errors(scene(nmae="x"))
    assert ("restore.when", "Extra inputs are not permitted") in errors(
        scene(restore={"at": "departure", "when": 1}))


def test_targets_checked_against_the_site() -> None:
    data = scene(baseline=[{"target": "music", "state": {"power": True}}],
                 holds=[hold(target="hall_light")])
    found = errors(data, known_targets={"hall_lights", "staff_intercom"})
    assert ("baseline.0.target", "'music' is not a device or group of this site") in found
    assert ("holds.0.target", "'hall_light' is not a device or group of this site "
            "(did you mean 'hall_lights'?)") in found
    found = errors(scene(announcements={"intercom": "pa"}), known_targets={"hall_lights"})
    assert ("announcements.intercom", "'pa' is not a device or group of this site") in found


def test_attributes_checked_against_the_target() -> None:
    data = scene(cues=[{"id": "c", "at": "start", "actions": [
        {"target": "hall_lights", "set": {"power": True, "setpoint": 24}}]}])
    found = errors(data, target_attributes=DEMO_ATTRIBUTES)
    assert found == [("cues.0.actions.0.set",
                      "hall_lights cannot be set with setpoint (it takes brightness, power)")]


# --- helpers ------------------------------------------------------------------------------------


def test_order_preparation_and_targets() -> None:
    cues = [
        {"id": "bye", "at": "departure", "announce": {"text": "再见"}},
        {"id": "ac", "at": "start-45m", "actions": [{"target": "ac", "set": {"power": True}}]},
        {"id": "hi", "at": "arrival", "announce": {"text": "欢迎"}},
        {"id": "go", "at": "start", "remind": {"for": "保安", "text": "x"}},
        {"id": "lights", "at": "start-5m", "actions": [{"target": "all", "set": {"power": True}}]},
        {"id": "flat", "at": "show_flat", "announce": {"text": "样板房"}},
    ]
    s = Scene.model_validate(scene(cues=cues, holds=[hold(target="music")]))
    assert [c.id for c in s.ordered_cues()] == ["ac", "lights", "go", "hi", "flat", "bye"]
    assert [c.id for c in s.preparation()] == ["ac", "lights"]
    assert [c.id for c in s.cues_on("arrival")] == ["hi"]
    assert s.targets() == {"ac", "all", "music", "staff_intercom"}
