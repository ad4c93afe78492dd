"""The site file: what loads, and what is refused with file, line and field."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict, model_validator

from common.yamlconf import ConfigError, FieldError, Problem, load_model, load_model_from_text
from controller.config.site import SiteConfig, load_site
from devices.config import CommandPolicy
from devices.errors import UnknownTarget
from devices.model import KINDS

REPO = Path(__file__).resolve().parents[2]

# Six lines of a valid site; the devices of each test start on line 7.
HEAD = """\
site:
  name: 测试案场
  timezone: Asia/Shanghai
mqtt:
  url: mqtt://localhost
devices:
"""

LIGHT = """\
  hall_lights:
    kind: light
    mqtt: {convention: zigbee2mqtt, name: hall_lights}
"""


def write(tmp_path: Path, text: str, name: str = "site.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_site(path)
    assert str(caught.value) == "\n".join(str(p) for p in caught.value.problems)
    return [str(p) for p in caught.value.problems]


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
        "allowed: kind, name, mqtt, local, serial, optimistic, command, triggers, duck"
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
        "show_flat, departure, vip_now",
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
        "media, intercom, button",
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


# --- what a good file gives ------------------------------------------------------------------


def test_defaults_and_derived_values(tmp_path: Path) -> None:
    config = load_site(write(tmp_path, HEAD + LIGHT))
    assert config.mqtt.connection == ("localhost", 1883, False)
    assert config.mqtt.client_id == "vipctl"
    assert config.mqtt.status_topic == "vipctl/vipctl/status"
    assert config.mqtt.keepalive == 30
    assert config.mqtt.topic_prefix == ""
    assert config.database.url == f"sqlite:///{tmp_path / 'vipctl.db'}"
    assert config.commands == CommandPolicy(confirm_timeout=3.0, retries=2, backoff=0.5)
    assert config.policy_for("hall_lights") is config.commands
    assert config.site.tz.key == "Asia/Shanghai"


def test_mqtts_with_ca_file_relative_to_the_site_file(tmp_path: Path) -> None:
    (tmp_path / "certs").mkdir()
    (tmp_path / "certs" / "ca.pem").write_text("not checked here\n")
    head = HEAD.replace(
        "url: mqtt://localhost",
        "url: mqtts://broker.example.com\n  ca_file: certs/ca.pem\n  client_id: site7",
    )
    config = load_site(write(tmp_path, head + LIGHT))
    assert config.mqtt.connection == ("broker.example.com", 8883, True)
    assert config.mqtt.ca_file == tmp_path / "certs" / "ca.pem"
    assert config.mqtt.status_topic == "vipctl/site7/status"


def test_ca_file_must_exist_and_needs_mqtts(tmp_path: Path) -> None:
    head = HEAD.replace("url: mqtt://localhost", "url: mqtts://b:9999\n  ca_file: missing.pem")
    path = write(tmp_path, head + LIGHT)
    assert problems(path) == [f"{path}:6: mqtt.ca_file: no such file: {tmp_path / 'missing.pem'}"]
    (tmp_path / "missing.pem").write_text("x")
    path.write_text(head.replace("mqtts://b:9999", "mqtt://b") + LIGHT, encoding="utf-8")
    assert problems(path) == [f"{path}:6: mqtt.ca_file: only used with an mqtts:// URL"]


def test_relative_sqlite_path_follows_the_site_file(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    text = HEAD + LIGHT + "database: {url: 'sqlite:///data/visits.db'}\n"
    config = load_site(write(tmp_path, text))
    assert config.database.url == f"sqlite:///{tmp_path / 'data' / 'visits.db'}"
    path = write(tmp_path, text.replace("data/", "nowhere/"))
    assert problems(path) == [
        f"{path}:10: database.url: no such folder for the SQLite file: {tmp_path / 'nowhere'}"
    ]


def test_resolve_and_policy_for(tmp_path: Path) -> None:
    config = load_site(write(tmp_path, HEAD + LIGHT + """\
  spotlights:
    kind: light
    mqtt: {convention: tasmota, topic: spotlights}
    command: {confirm_timeout: 9}
groups:
  lights: [spotlights, hall_lights]
"""))
    assert config.resolve("lights") == ["spotlights", "hall_lights"]
    assert config.resolve("spotlights") == ["spotlights"]
    assert config.policy_for("spotlights") == CommandPolicy(confirm_timeout=9)
    with pytest.raises(UnknownTarget, match=r"'light' is not a device or group.*'lights'"):
        config.resolve("light")
    with pytest.raises(UnknownTarget):
        config.policy_for("lights")


def test_device_command_policy_fills_in_from_the_site(tmp_path: Path) -> None:
    site_policy = "commands: {confirm_timeout: 1.5, backoff: 2}\n"
    text = HEAD + LIGHT + "    command: {retries: 0}\n" + site_policy
    config = load_site(write(tmp_path, text))
    assert config.policy_for("hall_lights") == CommandPolicy(
        confirm_timeout=1.5, retries=0, backoff=2, max_backoff=10
    )
    path = write(tmp_path, text.replace("{retries: 0}", "{max_backoff: 1}"))
    assert problems(path) == [
        f"{path}:10: devices.hall_lights.command: with the site's commands policy filled in, "
        "max_backoff is below backoff"
    ]


def test_command_policy_backoff_doubles_up_to_the_cap() -> None:
    policy = CommandPolicy(retries=5, backoff=0.5, max_backoff=3)
    assert policy.attempts == 6
    assert [policy.delay(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_demo_config_loads_with_every_kind_the_procedure_uses() -> None:
    config = load_site(REPO / "config" / "demo.yaml")
    # The reception procedure drives no plain switch; every other kind is in the demo.
    assert {d.kind for d in config.devices.values()} == set(KINDS) - {"switch"}
    assert all(d.transport == "mqtt" for d in config.devices.values())
    assert config.resolve("all_lights") == ["model_area_lights", "hall_lights"]  # P9
    assert dict(config.devices["concierge_button"].triggers) == {
        "single": "arrival", "double": "show_flat", "hold": "departure"
    }
    assert config.commands.confirm_timeout <= 1.0
    assert config.database.url == f"sqlite:///{REPO / 'config' / 'vipctl.db'}"


def test_example_site_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIPCTL_MQTT_PASSWORD", "example-secret")
    config = load_site(REPO / "config" / "example-site.yaml")
    assert "spotlights" not in config.resolve("all_lights")
    assert config.devices["vip_room_ac"].binding.convention == "coolmaster"
    assert config.devices["model_area_lights"].binding.convention == "dmx"
    assert config.devices["negotiation_ac"].binding.convention == "tasmota"
    assert config.mqtt.password is not None


def test_secrets_never_appear_in_repr_or_str(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VIPCTL_TEST_USER", "user-7f3a")
    monkeypatch.setenv("VIPCTL_TEST_PASSWORD", "pw-9c1e")
    (tmp_path / "d").mkdir()
    head = HEAD.replace("devices:", """\
  username_env: VIPCTL_TEST_USER
  password_env: VIPCTL_TEST_PASSWORD
database:
  url: postgresql://vipctl:dbpw-51b2@db.example.com/vipctl
devices:""")
    config = load_site(write(tmp_path, head + LIGHT))
    assert config.mqtt.username is not None
    assert config.mqtt.username.get_secret_value() == "user-7f3a"
    assert "dbpw-51b2" in config.database.url  # usable by the database layer
    for text in (repr(config), str(config), repr(config.mqtt), str(config.database),
                 config.database.display_url):
        for secret in ("user-7f3a", "pw-9c1e", "dbpw-51b2"):
            assert secret not in text


# --- the loader on its own, as the scene files will use it -----------------------------------


class Step(BaseModel):
    model_config = ConfigDict(extra="forbid")
    at: int
    say: str = ""


class Scene(BaseModel):
    model_config = ConfigDict(extra="forbid")
    known: list[str]
    steps: list[Step]

    @model_validator(mode="after")
    def _even(self) -> Scene:
        odd = [FieldError(f"step {i} is odd", at=("steps", i, "at"))
               for i, step in enumerate(self.steps) if step.at % 2]
        if odd:
            raise FieldError.many(odd)
        return self


def test_field_error_points_into_a_list_item() -> None:
    text = "known: [a]\nsteps:\n  - at: 2\n  - at: 3\n    say: hi\n  - {at: 5}\n"
    with pytest.raises(ConfigError) as caught:
        load_model_from_text(text, Scene, filename="scene.yaml")
    assert [str(p) for p in caught.value.problems] == [
        "scene.yaml:4: steps[1].at: step 1 is odd",
        "scene.yaml:6: steps[2].at: step 2 is odd",
    ]


def test_anchors_and_merge_keys_keep_explicit_values() -> None:
    text = "known: &k [a, b]\nsteps:\n  - &base {at: 2, say: hi}\n  - <<: *base\n    at: 4\n"
    scene = load_model_from_text(text, Scene, filename="scene.yaml")
    assert [(s.at, s.say) for s in scene.steps] == [(2, "hi"), (4, "hi")]


def test_recursive_alias_is_a_problem_not_a_crash() -> None:
    with pytest.raises(ConfigError, match=r"scene\.yaml:1: known"):
        load_model_from_text("known: &a [*a]\nsteps: []\n", Scene, filename="scene.yaml")


def test_unsafe_and_unknown_tags_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "known: !!python/object/apply:os.system ['true']\nsteps: []\n")
    with pytest.raises(ConfigError, match=r"site.yaml:1: known: unsupported YAML tag .*python"):
        load_model(path, Scene)
    path = write(tmp_path, "known: [a]\nsteps:\n  - at: !!python/name:os.system\n")
    with pytest.raises(ConfigError, match=r"site.yaml:3: YAML syntax error: .*python/name"):
        load_model(path, Scene)


def test_problem_formatting() -> None:
    assert str(Problem("a.yaml", 3, "x.y", "bad")) == "a.yaml:3: x.y: bad"
    assert str(Problem("a.yaml", None, "", "file not found")) == "a.yaml: file not found"
    assert str(ConfigError([Problem("a", 1, "f", "m"), Problem("a", 2, "g", "n")])) == (
        "a:1: f: m\na:2: g: n"
    )


def test_site_config_model_validates_from_text_too() -> None:
    config = load_model_from_text(HEAD + LIGHT, SiteConfig, filename="inline.yaml")
    assert list(config.devices) == ["hall_lights"]


def test_control_characters_and_odd_keys_are_problems(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD + LIGHT + "    name: a\x00b\n")
    assert problems(path) == [f"{path}:10: character #x0000 is not allowed in YAML"]
    path = write(tmp_path, HEAD + "  !!set a: 1\n")
    assert problems(path) == [f"{path}:7: devices: a key cannot be a set"]


# Fragments a hand-edited file might gain by mistake, YAML's sharper edges among them.
GARBAGE = ["{", "}", "[", "]", ":", "- ", "&a ", "*a", "<<: *a\n", "!!set ", "!!binary ", "~",
           "\t", "'", '"', "yes", ".nan", "? ", "---\n", "\x00", "!foo ", "2024-01-01", "|\n"]


def test_mangled_files_give_problems_never_crashes(monkeypatch: pytest.MonkeyPatch) -> None:
    import random

    monkeypatch.setenv("VIPCTL_MQTT_PASSWORD", "x")
    original = (REPO / "config" / "example-site.yaml").read_text(encoding="utf-8")
    rng = random.Random(20261128)
    refused = 0
    for _ in range(300):
        text = original
        for _ in range(rng.randint(1, 3)):
            at = rng.randrange(len(text))
            if rng.random() < 0.6:
                text = text[:at] + rng.choice(GARBAGE) + text[at:]
            else:
                text = text[:at] + text[at + rng.randint(1, 20):]
        found: list[Problem] = []
        try:
            load_model_from_text(text, SiteConfig, filename="mangled.yaml")
        except ConfigError as exc:
            found = exc.problems
            refused += 1
        assert all(p.line is None or 1 <= p.line <= text.count("\n") + 1 for p in found)
    assert refused > 150  # the mangling really breaks most files
