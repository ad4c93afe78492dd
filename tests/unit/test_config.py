"""The site file: what a good file gives (defaults, derived values, policies, secrets kept)."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.config.site import DEFAULT_SITE_ID, load_site
from devices.config import CommandPolicy
from devices.errors import UnknownTarget
from devices.model import KINDS
from tests.sitefiles import HEAD, LIGHT, REPO, problems, write

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
    head = HEAD.replace("  name: 测试案场", "  id: test_site\n  name: 测试案场").replace(
        "devices:", """\
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


def test_site_id_defaults_on_its_own_sqlite_file_and_is_required_on_a_shared_database(
    tmp_path: Path,
) -> None:
    assert load_site(write(tmp_path, HEAD + LIGHT)).site.id == DEFAULT_SITE_ID
    shared = HEAD.replace("devices:", "database:\n  url: postgresql+psycopg://db/vipctl\n"
                                      "devices:")
    assert problems(write(tmp_path, shared + LIGHT)) == [
        f"{tmp_path / 'site.yaml'}:1: site.id: required when the database is not a file of "
        "this site's own (sites sharing a database tell their rows apart by it)"]
    named = shared.replace("  name: 测试案场", "  id: binjiang_1\n  name: 测试案场")
    assert load_site(write(tmp_path, named + LIGHT)).site.id == "binjiang_1"
    bad = HEAD.replace("  name: 测试案场", "  id: Binjiang-1\n  name: 测试案场")
    assert problems(write(tmp_path, bad + LIGHT)) == [
        f"{tmp_path / 'site.yaml'}:2: site.id: 'Binjiang-1' is not a valid id (lower-case "
        "letters, digits and _, starting with a letter)"]


def test_a_site_id_may_not_be_a_gateway_topic_root(tmp_path: Path) -> None:
    for reserved in ("media", "intercom"):
        text = HEAD.replace("  name: 测试案场", f"  id: {reserved}\n  name: 测试案场")
        assert problems(write(tmp_path, text + LIGHT)) == [
            f"{tmp_path / 'site.yaml'}:2: site.id: {reserved!r} is reserved "
            f"(vipctl/{reserved}/ holds the gateways' topics)"]
