"""The scene file's schema: the offset grammar, every validation error, the shipped scene."""

from __future__ import annotations

import copy
import json
import random
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from common.yamlconf import FieldError
from devices.capabilities import attributes_of
from scenes.loader import DEFAULT_SCENE, ConfigError, load_scene, load_scene_from_text
from scenes.model import Scene
from scenes.offsets import At, Late

# The ids of config/demo.yaml, and what each takes (all_lights is lights only).
DEMO_DEVICES = {
    "model_area_lights": "light", "hall_lights": "light", "spotlights": "light",
    "vip_room_ac": "climate", "lobby_thermostat": "climate", "background_music": "media",
    "vip_room_video": "media", "staff_intercom": "intercom", "concierge_button": "button",
}
DEMO_TARGETS = set(DEMO_DEVICES) | {"all_lights"}
DEMO_ATTRIBUTES = {d: attributes_of(k) for d, k in DEMO_DEVICES.items()}  # type: ignore[index]
DEMO_ATTRIBUTES["all_lights"] = attributes_of("light")

MINIMAL: dict[str, Any] = {
    "name": "test",
    "announcements": {"intercom": "staff_intercom"},
    "cues": [{"id": "lights", "at": "start-5m", "actions": [
        {"target": "hall_lights", "set": {"power": True}}]}],
    "restore": {"at": "departure+5m"},
}


def scene(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(MINIMAL)
    data.update(changes)
    return data


def errors(data: dict[str, Any], **context: Any) -> list[tuple[str, str]]:
    """(path, message) of each error; a FieldError's own paths, as common.yamlconf reads them."""
    with pytest.raises(ValidationError) as info:
        Scene.model_validate(data, context=context or None)
    out = []
    for e in info.value.errors():
        loc = tuple(e["loc"])
        error = (e.get("ctx") or {}).get("error")
        issues = error.issues if isinstance(error, FieldError) else [((), e["msg"])]
        out += [(".".join(map(str, loc + tuple(at))), message) for at, message in issues]
    return out


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


# --- the loader: file, line and field -----------------------------------------------------------

BROKEN = """\
name: broken
announcements:
  intercom: staff_intercom
cues:
  - id: ac
    at: start-45min
    actions:
      - target: vip_room_ac
        set: {power: on, mode: cooling}
  - id: lights
    at: start-5m
    actions:
      - target: hall_light
        set:
          power: on
  - id: hello
    at: arrival
    announce:
      text: "{surname.upper}已到访"
  - id: ac
    at: start
    remind: {for: 保安, text: x}
holds:
  - id: spot
    target: spotlights
    state: {brightness: 200}
    from: start-5m
restore:
  at: departure+5m
"""


def test_loader_reports_file_line_and_field() -> None:
    with pytest.raises(ConfigError) as info:
        load_scene_from_text(BROKEN, filename="site.yaml", known_targets=DEMO_TARGETS)
    got = [str(p) for p in info.value.problems]
    assert "site.yaml:6: cues[0].at: 'start-45min' has a malformed offset: write an anchor " \
        "(start, arrival, show_flat, departure) with an optional offset in h, m, s, e.g. " \
        "start-45m, start, arrival+1m, departure+1h30m" in got
    assert "site.yaml:9: cues[0].actions[0].set.mode: 'cooling' is not one of off, cool, " \
        "heat, auto, dry, fan_only" in got
    assert "site.yaml:13: cues[1].actions[0].target: 'hall_light' is not a device or group " \
        "of this site (did you mean 'hall_lights'?)" in got
    assert any(g.startswith("site.yaml:19: cues[2].announce.text: {surname.upper} is not a "
                            "known placeholder") for g in got)
    assert any(g.startswith("site.yaml:26: holds[0].state.brightness: Input should be less "
                            "than or equal to 100") for g in got)
    assert len(got) == 5  # the duplicate id needs the rest valid first: see the next test


def test_loader_reports_cross_checks_at_their_line() -> None:
    text = BROKEN.replace("start-45min", "start-45m").replace("cooling", "cool") \
        .replace("hall_light\n", "hall_lights\n").replace("surname.upper", "surname") \
        .replace("brightness: 200", "power: off")
    with pytest.raises(ConfigError) as info:
        load_scene_from_text(text, filename="s.yaml", known_targets=DEMO_TARGETS)
    assert [str(p) for p in info.value.problems] == [
        "s.yaml:20: cues[3].id: 'ac' is already the id of cues[0]"]


def test_loader_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_scene(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ncues: [\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad.yaml:\d+: YAML syntax error"):
        load_scene(bad)


# --- the shipped procedure -------------------------------------------------------------------


@pytest.fixture(scope="module")
def vip() -> Scene:
    return load_scene(DEFAULT_SCENE, known_targets=DEMO_TARGETS,
                      target_attributes=DEMO_ATTRIBUTES)


def _acts(s: Scene, target: str) -> list[tuple[str, dict[str, Any]]]:
    return [(str(c.at), a.state.as_state()) for c in s.ordered_cues() for a in c.actions
            if a.target == target]


def test_vip_reception_air_conditioning_at_t_minus_45(vip: Scene) -> None:
    [ac] = [c for c in vip.cues if any(a.target == "vip_room_ac" for a in c.actions)]
    assert str(ac.at) == "start-45m"
    assert ac.late == Late("run_until", At("departure"))
    assert _acts(vip, "vip_room_ac") == [("start-45m", {"power": True, "mode": "cool",
                                                         "setpoint": 24.0})]
    assert vip.preparation()[0] is ac


def test_vip_reception_lights_held_and_spotlights_never_named(vip: Scene) -> None:
    assert _acts(vip, "model_area_lights") == [("start-5m", {"power": True})]  # P2
    assert _acts(vip, "all_lights") == [("start-5m", {"power": True})]  # P9
    held = {(h.target, str(h.start), h.until): h.state.as_state() for h in vip.holds}
    assert held[("model_area_lights", "start-5m", "end")] == {"power": True}
    assert held[("all_lights", "start-5m", "end")] == {"power": True}
    assert "spotlights" not in vip.targets()
    raw = yaml.safe_load(DEFAULT_SCENE.read_text(encoding="utf-8"))  # comments aside
    assert "spotlights" not in json.dumps(raw)


def test_vip_reception_music_video_and_restore(vip: Scene) -> None:
    [music] = vip.baseline  # P3: always, not a claim the restore could undo
    assert music.target == "background_music"
    assert music.state.as_state()["power"] is True
    assert _acts(vip, "vip_room_video") == [("start-5m", {
        "power": True, "media": "media/promo.mp4", "loop": True, "playback": "playing"})]
    assert str(vip.restore.at) == "departure+5m"


def test_vip_reception_staff_reminders_and_announcements(vip: Scene) -> None:
    reminders = {str(c.at): c.remind for c in vip.cues if c.remind}
    assert "保安" in reminders["start-30m"].audience or any(
        "保安" in c.remind.audience for c in vip.cues if c.remind and str(c.at) == "start-30m")
    p7 = reminders["start-10m"]
    assert "管理层" in p7.audience and "喷泉" in p7.text
    [p7_cue] = [c for c in vip.cues if str(c.at) == "start-10m"]
    assert p7_cue.late == Late("run_until", At("start"))
    said = {c.at.anchor: c.announce.text for c in vip.cues if c.announce}
    assert said == {
        "arrival": "{surname}{honorific}已到访,请各岗位做好接待工作",
        "show_flat": "{surname}{honorific}即将参观样板房,请样板房管家做好准备",
        "departure": "{surname}{honorific}即将离开,请销售人员在门口列队送别",
    }


def test_vip_reception_round_trips_through_json(vip: Scene) -> None:
    text = vip.model_dump_json(by_alias=True, exclude_none=True)
    assert Scene.model_validate_json(text) == vip
    assert '"late":{"run_until":"departure"}' in text
    assert Scene.model_json_schema(by_alias=True)["title"] == "Scene"


def test_docs_example_loads() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "scenes.md").read_text(encoding="utf-8")
    [example] = re.findall(r"```yaml\n(.*?)```", doc, re.S)
    s = load_scene_from_text(example, filename="docs/scenes.md", known_targets=DEMO_TARGETS,
                             target_attributes=DEMO_ATTRIBUTES)
    assert [c.id for c in s.preparation()] == ["p10-air-conditioning", "p7-fountain"]


def test_mangled_scene_files_give_config_errors_only() -> None:
    """Random edits of the shipped file: each one loads or is refused, nothing else escapes."""
    base = DEFAULT_SCENE.read_text(encoding="utf-8")
    rng = random.Random(7)
    alphabet = "{}[]:-+ \n'\"!09hms_总&*|>"
    files: set[str] = set()
    refused = 0
    for _ in range(120):
        text = list(base)
        for _ in range(rng.randint(1, 4)):
            k = rng.randrange(len(text))
            text[k:k + rng.randint(0, 1)] = rng.choice(alphabet) * rng.randint(0, 1)
        try:
            load_scene_from_text("".join(text), filename="mangled.yaml")
        except ConfigError as e:
            refused += 1
            files.update(p.file for p in e.problems)
    assert refused > 20
    assert files == {"mangled.yaml"}
