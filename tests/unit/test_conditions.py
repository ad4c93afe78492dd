"""A cue's `when:`: the grammar, the comparison, the decision with and without a reading,
and the scene file's errors (file, line, field) checked against the site's sensors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from devices.config import DeviceConfig
from scenes.conditions import Comparison, decide
from scenes.loader import ConfigError, load_scene_from_text
from scenes.model import Scene
from tests.unit.scene_data import DEMO_TARGETS

SENSORS = {"outdoor_weather": {"rain"}, "vip_room_climate": {"temperature", "humidity"}}


@pytest.mark.parametrize(("text", "seen", "holds"), [
    ("outdoor_weather.rain == true", True, True),
    ("outdoor_weather.rain == true", False, False),
    ("outdoor_weather.rain != on", False, True),
    ("vip_room_climate.temperature > 27", 27.5, True),
    ("vip_room_climate.temperature > 27", 27.0, False),
    ("vip_room_climate.temperature>=27", 27, True),
    ("party_size >= 4", 4, True),
    ("party_size >= 4", 2, False),
    ("party_size < 3", 2, True),
])
def test_a_condition_compares_what_was_seen(text: str, seen: bool | float, holds: bool) -> None:
    test = Comparison.parse(text)
    assert test.holds(seen) is holds
    assert str(test) == text.strip()
    assert decide(test, seen, "skip") == ("run" if holds else "skip-condition")


@pytest.mark.parametrize("seen", [None, "wet", 1.0])
def test_nothing_to_judge_is_left_to_the_policy(seen: object) -> None:
    rain = Comparison.parse("outdoor_weather.rain == true")  # a number is no rain reading either
    assert decide(rain, seen, "run") == "run-unknown"  # type: ignore[arg-type]
    assert decide(rain, seen, "skip") == "skip-unknown"  # type: ignore[arg-type]


def test_a_temperature_is_never_a_bool() -> None:
    warm = Comparison.parse("vip_room_climate.temperature > 27")
    assert decide(warm, True, "skip") == "skip-unknown"


@pytest.mark.parametrize(("text", "says"), [
    ("rain", "is not a condition"),
    ("outdoor_weather.rain", "is not a condition"),
    ("outdoor_weather.rain > true", "compare it with == or !="),
    ("outdoor_weather.rain == yes", "is true or false, not 'yes'"),
    ("outdoor_weather.snow == true", "'snow' is not a reading"),
    ("vip_room_climate.temperature > warm", "is a number, not 'warm'"),
    ("vip_room_climate.temperature > nan", "is not a usable number"),
    ("guests >= 4", "neither party_size nor <sensor>.<reading>"),
])
def test_bad_conditions_say_what_is_allowed(text: str, says: str) -> None:
    with pytest.raises(ValueError, match=re.escape(says)):
        Comparison.parse(text)


SCENE = """\
name: test
announcements: {intercom: staff_intercom}
cues:
  - id: ac
    at: start-45m
    actions: [{target: vip_room_ac, set: {power: on}}]
  - id: umbrellas
    at: start-10m
    when: outdoor_wether.rain == true
    remind: {for: 礼宾, text: 请备伞}
  - id: warm
    at: start-15m
    when: {test: outdoor_weather.temperature > 27, if_unknown: maybe}
    remind: {for: 工程部, text: 太热}
  - id: door
    at: start-10m
    when: {test: vip_room_climate.temperature > 27, if_unknown: skip}
    remind: {for: 礼宾, text: 开车门}
preflight:
  at: start-30m
restore:
  at: departure+5m
"""


def test_scene_errors_name_the_line_and_the_sensors() -> None:
    with pytest.raises(ConfigError) as info:
        load_scene_from_text(SCENE, filename="vip.yaml", known_targets=DEMO_TARGETS,
                             sensors=SENSORS)
    assert [str(p) for p in info.value.problems] == [
        "vip.yaml:9: cues[1].when: 'outdoor_wether' is not a sensor of this site (did you "
        "mean 'outdoor_weather'?) (its sensors: outdoor_weather, vip_room_climate)",
        "vip.yaml:13: cues[2].when.test: outdoor_weather does not measure temperature (it "
        "measures: rain)",
        "vip.yaml:13: cues[2].when.if_unknown: 'maybe' is not one of run, skip",
    ]


def test_the_preflight_comes_before_the_first_cue() -> None:
    text = SCENE.replace("outdoor_wether", "outdoor_weather").replace(
        "outdoor_weather.temperature", "vip_room_climate.temperature").replace(
        "if_unknown: maybe", "if_unknown: run")
    with pytest.raises(ConfigError) as info:
        load_scene_from_text(text, filename="vip.yaml", known_targets=DEMO_TARGETS,
                             sensors=SENSORS)
    assert [str(p) for p in info.value.problems] == [
        "vip.yaml:20: preflight.at: start-30m is not before the first cue (start-45m): the "
        "check comes first"]
    scene = load_scene_from_text(text.replace("start-30m", "start-50m"), sensors=SENSORS,
                                 known_targets=DEMO_TARGETS)
    assert str(scene.preflight_settings().at) == "start-50m"
    assert scene.preflight_settings().audience == ["工程部"]
    assert scene.sensors() == {"outdoor_weather", "vip_room_climate"}


def test_without_a_preflight_block_it_comes_an_hour_ahead_or_before_the_first_cue() -> None:
    text = SCENE.replace("preflight:\n  at: start-30m\n", "").replace(
        "when: outdoor_wether.rain == true", "when: party_size >= 4").replace(
        "outdoor_weather.temperature", "vip_room_climate.temperature").replace(
        "if_unknown: maybe", "if_unknown: run")
    assert str(load_scene_from_text(text).preflight_settings().at) == "start-1h"
    early = text.replace("at: start-45m", "at: start-2h")
    assert str(load_scene_from_text(early).preflight_settings().at) == "start-2h15m"


def test_the_readme_example_loads() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    block = next(b for b in readme.split("```yaml\n")[1:] if b.startswith("# site.yaml"))
    site_part, scene_part = block.split("```")[0].split("# scene\n")
    devices = yaml.safe_load(site_part)
    config = DeviceConfig.model_validate(devices["outdoor_weather"])
    cues = yaml.safe_load(scene_part)
    scene = Scene.model_validate(
        {"name": "readme", "announcements": {"intercom": "staff_intercom"}, "cues": cues,
         "restore": {"at": "departure+5m"}},
        context={"sensors": {"outdoor_weather": set(config.measures)}})
    assert [str(c.when) for c in scene.cues] == ["outdoor_weather.rain == true",
                                                 "party_size >= 4"]
