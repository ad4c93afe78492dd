"""The site file: what is refused, with file, line and field, and every problem at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.config.site import load_site
from tests.sitefiles import HEAD, LIGHT, problems, write

# --- the five headline failures: file, exact line, field ------------------------------------


def test_typo_in_convention_names_the_choices(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD + """\
  hall_ac:
    kind: climate
    mqtt:
      convention: tasmot
      topic: hall_ac
""")
    assert problems(path) == [
        f"{path}:10: devices.hall_ac.mqtt.convention: 'tasmot' is not one of tasmota, "
        "zigbee2mqtt, vipctl-media, vipctl-intercom"
    ]


def test_duplicate_device_id_is_refused_at_the_second(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD + LIGHT + LIGHT)
    assert problems(path) == [
        f"{path}:10: devices.hall_lights: duplicate key 'hall_lights' (first defined at line 7)"
    ]


def test_group_member_that_is_not_a_device(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD + LIGHT + """\
groups:
  all_lights:
    - hall_lights
    - hall_lihgts
    - spotlights
""")
    assert problems(path) == [
        f"{path}:13: groups.all_lights[1]: unknown device 'hall_lihgts' (did you mean "
        "'hall_lights'?)",
        f"{path}:14: groups.all_lights[2]: unknown device 'spotlights'",
    ]


def test_missing_required_option_points_at_its_block(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD + """\
  vip_room_ac:
    kind: climate
    name: VIP室空调
    mqtt:
      convention: tasmota
""")
    assert problems(path) == [f"{path}:10: devices.vip_room_ac.mqtt.topic: required field missing"]


def test_climate_behind_ir_blaster_needs_a_vendor(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD + """\
  vip_room_ac:
    kind: climate
    mqtt: {convention: tasmota, topic: vip_room_ir}
""")
    assert problems(path) == [
        f"{path}:9: devices.vip_room_ac.mqtt.irhvac_vendor: required for a climate device "
        "behind an IR blaster"
    ]


def test_yaml_syntax_error_has_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD + """\
  hall_lights:
    kind: light
    mqtt: {convention: zigbee2mqtt, name: hall_lights
  spotlights:
""")
    (problem,) = problems(path)
    assert problem.startswith(f"{path}:10: YAML syntax error: ")


def test_tab_indentation_is_a_syntax_error_on_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD + "  hall_lights:\n\tkind: light\n")
    (problem,) = problems(path)
    assert problem.startswith(f"{path}:8: YAML syntax error: ")


# --- more refusals ----------------------------------------------------------------------------


def test_unknown_key_lists_the_allowed_ones(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD + """\
  hall_lights:
    kind: light
    mqtt: {convention: zigbee2mqtt, name: hall_lights}
    optimistc: true
""")
    assert problems(path) == [
        f"{path}:10: devices.hall_lights.optimistc: unknown field; did you mean 'optimistic'?; "
        "allowed: kind, name, mqtt, local, serial, optimistic, command, triggers, duck, "
        "measures"
    ]


def test_unknown_option_inside_a_convention_block(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD + """\
  model_area_lights:
    kind: light
    mqtt:
      convention: tasmota
      topic: model_area
      channel: 2
""")
    (problem,) = problems(path)
    assert problem.startswith(f"{path}:12: devices.model_area_lights.mqtt.channel: unknown field")
    assert "allowed: convention, topic, relay, irhvac_vendor" in problem


def test_bad_timezone(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD.replace("Asia/Shanghai", "Asia/Beijing") + LIGHT)
    assert problems(path) == [
        f"{path}:3: site.timezone: 'Asia/Beijing' is not an IANA time zone (e.g. Asia/Shanghai)"
    ]


def test_bad_url_scheme_does_not_echo_the_url(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD.replace("mqtt://localhost", "http://localhost:1883") + LIGHT)
    assert problems(path) == [
        f"{path}:5: mqtt.url: the scheme must be mqtt:// or mqtts:// (got http://)"
    ]


def test_credentials_inside_the_url_are_refused_without_showing_them(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD.replace("mqtt://localhost", "mqtt://u:hunter2@localhost") + LIGHT)
    (problem,) = problems(path)
    assert problem.startswith(f"{path}:5: mqtt.url: put credentials in username/password")
    assert "hunter2" not in problem


def test_password_env_unset_names_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VIPCTL_TEST_PASSWORD", raising=False)
    credentials = "  username: vipctl\n  password_env: VIPCTL_TEST_PASSWORD\n"
    head = HEAD.replace("devices:", credentials + "devices:")
    path = write(tmp_path, head + LIGHT)
    assert problems(path) == [
        f"{path}:7: mqtt.password_env: environment variable VIPCTL_TEST_PASSWORD is not set"
    ]
    monkeypatch.setenv("VIPCTL_TEST_PASSWORD", "hunter2")
    config = load_site(path)
    assert config.mqtt.password is not None
    assert config.mqtt.password.get_secret_value() == "hunter2"


def test_password_and_password_env_together_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VIPCTL_TEST_PASSWORD", "hunter2")
    head = HEAD.replace(
        "devices:", "  username: u\n  password: x\n  password_env: VIPCTL_TEST_PASSWORD\ndevices:"
    )
    path = write(tmp_path, head + LIGHT)
    assert problems(path) == [
        f"{path}:8: mqtt.password_env: give password or password_env, not both"
    ]


def test_button_trigger_on_a_light(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD + LIGHT + "    triggers: {single: arrival}\n")
    assert problems(path) == [
        f"{path}:10: devices.hall_lights.triggers: only a button has triggers; this is a light"
    ]


def test_unknown_trigger_and_action(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD + """\
  concierge_button:
    kind: button
    mqtt: {convention: zigbee2mqtt, name: concierge_button}
    triggers:
      single: arival
      triple: departure
""")
    assert problems(path) == [
        f"{path}:11: devices.concierge_button.triggers.single: 'arival' is not one of arrival, "
        "show_flat, departure, vip_now, walk_in",
        f"{path}:12: devices.concierge_button.triggers.triple: 'triple' is not one of single, "
        "double, hold",
    ]


def test_convention_that_cannot_drive_the_kind(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD + """\
  model_area_lights:
    kind: light
    mqtt:
      convention: vipctl-media
      topic: vipctl/media/model_area
""")
    assert problems(path) == [
        f"{path}:10: devices.model_area_lights.mqtt.convention: 'vipctl-media' cannot drive a "
        "light (it drives: media)"
    ]


def test_bad_device_id(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD + LIGHT.replace("hall_lights:", "Hall-Lights:"))
    (problem,) = problems(path)
    assert problem.startswith(f"{path}:7: devices.Hall-Lights: 'Hall-Lights' is not a valid id")


def test_group_rules(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD + LIGHT + """\
groups:
  hall_lights: [hall_lights]
  doubled: [hall_lights, hall_lights]
""")
    assert problems(path) == [
        f"{path}:11: groups.hall_lights: 'hall_lights' is already a device id; groups need "
        "their own names",
        f"{path}:12: groups.doubled[1]: 'hall_lights' is listed twice (also at [0])",
    ]
    path.write_text(HEAD + LIGHT + "groups:\n  empty: []\n", encoding="utf-8")
    assert problems(path) == [
        f"{path}:11: groups.empty: List should have at least 1 item after validation, not 0"
    ]


def test_a_broken_device_does_not_hide_a_broken_group(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD + LIGHT + """\
  spotlights:
    kind: lamp
    mqtt: {convention: tasmota, topic: spotlights}
groups:
  all_lights: [hall_lights, spotlight]
""")
    assert problems(path) == [
        f"{path}:11: devices.spotlights.kind: 'lamp' is not one of light, switch, climate, "
        "media, intercom, button, sensor",
        f"{path}:14: groups.all_lights[1]: unknown device 'spotlight' (did you mean "
        "'spotlights'?)",
    ]


def test_two_devices_on_one_address(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD + LIGHT + """\
  hall_lights_2:
    kind: switch
    mqtt: {convention: zigbee2mqtt, name: hall_lights}
""")
    assert problems(path) == [
        f"{path}:12: devices.hall_lights_2.mqtt.name: devices.hall_lights already uses this "
        "address"
    ]


def test_every_problem_is_reported_in_line_order(tmp_path: Path) -> None:
    path = write(tmp_path, """\
site:
  name: 测试案场
  timezone: Mars/Olympus
mqtt:
  url: mqtt://localhost
  keepalive: 0
commands: {retries: -1}
devices:
""" + LIGHT)
    lines = [p.split(":")[1] for p in problems(path)]
    assert lines == ["3", "6", "7"]


def test_empty_file_missing_file_and_wrong_top_level(tmp_path: Path) -> None:
    empty = write(tmp_path, "# nothing yet\n")
    assert problems(empty) == [f"{empty}: the file is empty"]
    missing = tmp_path / "nope.yaml"
    assert problems(missing) == [f"{missing}: file not found"]
    listed = write(tmp_path, "- a\n- b\n", "list.yaml")
    assert problems(listed) == [f"{listed}:1: expected a mapping (key: value), got a list"]


def test_missing_sections_point_at_the_top(tmp_path: Path) -> None:
    path = write(tmp_path, "site: {name: x, timezone: UTC}\n")
    assert problems(path) == [
        f"{path}:1: mqtt: required field missing",
        f"{path}:1: devices: required field missing",
    ]


def test_command_policy_rules(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD + LIGHT + """\
commands:
  confirm_timeout: .inf
  backoff: 4
  max_backoff: 2
""")
    assert problems(path) == [
        f"{path}:11: commands.confirm_timeout: Input should be a finite number"
    ]
    path.write_text(HEAD + LIGHT + "commands: {backoff: 4, max_backoff: 2}\n", encoding="utf-8")
    assert problems(path) == [f"{path}:10: commands.max_backoff: must be at least backoff (4 s)"]


def test_metrics_token_env_is_read_like_every_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VIPCTL_TEST_SCRAPE", raising=False)
    path = write(tmp_path, HEAD + LIGHT + "api:\n  metrics_token_env: VIPCTL_TEST_SCRAPE\n")
    assert problems(path) == [
        f"{path}:11: api.metrics_token_env: environment variable VIPCTL_TEST_SCRAPE is not set"
    ]
    monkeypatch.setenv("VIPCTL_TEST_SCRAPE", "short-secret")
    refused = problems(path)
    assert len(refused) == 1
    assert "at least 16 characters" in refused[0]
    assert "short-secret" not in refused[0]  # never echoed
    monkeypatch.setenv("VIPCTL_TEST_SCRAPE", "a-long-enough-scrape-token")
    token = load_site(path).api.metrics_token
    assert token is not None
    assert token.get_secret_value() == "a-long-enough-scrape-token"
