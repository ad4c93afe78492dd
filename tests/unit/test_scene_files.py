"""Scene files: the loader's file, line and field; the shipped procedure; mangled files."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from scenes.loader import DEFAULT_SCENE, ConfigError, load_scene, load_scene_from_text
from scenes.model import Scene
from scenes.offsets import At, Late
from tests.unit.scene_data import DEMO_ATTRIBUTES, DEMO_TARGETS

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
    reminders = {str(c.at): c.remind for c in vip.cues if c.remind and c.when is None}
    assert "保安" in reminders["start-30m"].audience or any(
        "保安" in c.remind.audience for c in vip.cues if c.remind and str(c.at) == "start-30m")
    p7 = reminders["start-10m"]
    assert "管理层" in p7.audience and "喷泉" in p7.text
    [p7_cue] = [c for c in vip.cues if str(c.at) == "start-10m" and c.when is None]
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
                             target_attributes=DEMO_ATTRIBUTES,
                             sensors={"outdoor_weather": ["rain"]})
    assert [c.id for c in s.preparation()] == [
        "p10-air-conditioning", "p7-fountain", "f2-umbrellas", "f2-door-party"]
    assert {c.id: str(c.when) for c in s.cues if c.when} == {
        "f2-umbrellas": "outdoor_weather.rain == true", "f2-door-party": "party_size >= 4"}
    assert str(s.preflight_settings().at) == "start-1h"


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
