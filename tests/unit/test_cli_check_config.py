"""`vipctl check-config`: a summary and exit 0 for a good file, every problem and exit 2 else."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from common.yamlconf import ConfigError
from controller.cli.main import app
from controller.config.site import load_site
from tests.sitefiles import HEAD, REPO

# The console script installed next to the interpreter running the tests.
VIPCTL = Path(sys.executable).parent / "vipctl"
# Wide enough that rich never folds a device id or topic across lines.
WIDE = {"COLUMNS": "200"}

runner = CliRunner(env=WIDE)

BROKEN = HEAD + """\
  hall_ac:
    kind: climate
    mqtt: {convention: tasmot, topic: hall_ac}
  lobby:
    kind: light
    mqtt: {convention: zigbee2mqtt, name: lobby}
groups:
  all_lights: [lobby, hall]
"""


def test_demo_config_summary() -> None:
    result = runner.invoke(app, ["check-config", str(REPO / "config" / "demo.yaml")])
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    out = result.stdout
    assert "演示案场" in out
    for device_id in ("model_area_lights", "vip_room_ac", "concierge_button", "staff_intercom"):
        assert device_id in out
    assert "zigbee2mqtt/hall_lights" in out
    assert "vipctl/media/background_music" in out
    assert "single→arrival" in out
    group_row = next(line for line in out.splitlines() if line.startswith("│ all_lights"))
    assert "model_area_lights, hall_lights" in group_row
    assert "spotlights" not in group_row
    intercom_row = next(line for line in out.splitlines() if "staff_intercom" in line)
    assert "5 s × 2 (own)" in intercom_row


def test_assumed_state_devices_are_marked(tmp_path: Path) -> None:
    path = tmp_path / "site.yaml"
    path.write_text(BROKEN.replace("tasmot,", "tasmota, irhvac_vendor: GREE,")
                    .replace(", hall]", "]") + "    \n", encoding="utf-8")
    text = path.read_text(encoding="utf-8").replace(
        "name: lobby}", "name: lobby}\n    optimistic: true")
    path.write_text(text, encoding="utf-8")
    result = runner.invoke(app, ["check-config", str(path)])
    assert result.exit_code == 0, result.output
    lobby_row = next(line for line in result.stdout.splitlines() if "lobby" in line)
    assert "assumed state" in lobby_row
    hall_row = next(line for line in result.stdout.splitlines() if "hall_ac" in line)
    assert "3 s × 3" in hall_row


def test_broken_config_lists_every_problem_and_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "site.yaml"
    path.write_text(BROKEN, encoding="utf-8")
    result = runner.invoke(app, ["check-config", str(path)])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"{path}:9: devices.hall_ac.mqtt.convention: 'tasmot' is not one of tasmota, "
        "zigbee2mqtt, vipctl-media, vipctl-intercom",
        f"{path}:14: groups.all_lights[1]: unknown device 'hall' (did you mean 'hall_ac'?)",
    ]


def test_missing_file_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["check-config", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2
    assert result.stderr.strip() == f"{tmp_path / 'nope.yaml'}: file not found"


def test_console_script_never_prints_the_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not VIPCTL.exists():
        pytest.fail(f"console script not installed at {VIPCTL}")
    env = {**os.environ, **WIDE, "VIPCTL_MQTT_PASSWORD": "pw-4d8e-secret"}
    example = REPO / "config" / "example-site.yaml"
    good = subprocess.run([str(VIPCTL), "check-config", str(example)], env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert good.returncode == 0, good.stderr
    assert "pw-4d8e-secret" not in good.stdout + good.stderr
    assert "password from $VIPCTL_MQTT_PASSWORD" in good.stdout
    assert "hall_lights_entrance" in good.stdout

    # Checked on a laptop, the site's secret is rightly absent: valid, with a note.
    del env["VIPCTL_MQTT_PASSWORD"]
    away = subprocess.run([str(VIPCTL), "check-config", str(example)], env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert away.returncode == 0
    assert away.stderr == (f"note: {example}: mqtt.password_env: VIPCTL_MQTT_PASSWORD is not "
                           "set here; `vipctl run` needs it\n")


def test_unset_secret_is_an_error_where_it_is_needed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VIPCTL_MQTT_PASSWORD", raising=False)
    example = REPO / "config" / "example-site.yaml"
    with pytest.raises(ConfigError) as exc:
        load_site(example)
    assert str(exc.value) == (f"{example}:16: mqtt.password_env: environment variable "
                              "VIPCTL_MQTT_PASSWORD is not set")
