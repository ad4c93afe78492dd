"""hq.yaml: the shipped example loads, and a mistake names the file, the line and the field."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from common.yamlconf import ConfigError
from controller.cli.main import app
from controller.hq.config import HQ_CLIENT_ID, load_hq

EXAMPLE = Path(__file__).parents[2] / "config" / "hq-example.yaml"


def test_the_example_loads() -> None:
    notes: list[str] = []
    config = load_hq(EXAMPLE, require_env=False, notes=notes)
    assert config.mqtt.client_id == HQ_CLIENT_ID and config.mqtt.connection.tls
    assert config.sites["binjiang_1"] == "滨江壹号营销中心"
    assert set(config.auth.users) == {"marketing", "quality", "it"}
    assert any("VIPCTL_HQ_MQTT_PASSWORD" in note for note in notes)


@pytest.mark.parametrize(("text", "expected"), [
    ("mqtt: {url: 'http://x'}\ndatabase: {url: 'sqlite:///hq.db'}\n",
     "hq.yaml:1: mqtt.url: "),
    ("mqtt: {url: 'mqtt://x'}\ndatabase: {url: 'sqlite:///hq.db'}\nsites:\n  Bad Id: x\n",
     "hq.yaml:4: sites['Bad Id']"),
    ("mqtt: {url: 'mqtt://x'}\n", "hq.yaml:1: database: "),
    ("mqtt: {url: 'mqtt://x'}\ndatabase: {url: 'sqlite:///hq.db', standby: true}\n",
     "hq.yaml:2: database.standby"),
    ("mqtt: {url: 'mqtt://x'}\ndatabase: {url: 'sqlite:///hq.db'}\napi: {hsts: true}\n",
     "hq.yaml:3: api.hsts"),
])
def test_a_mistake_names_file_line_and_field(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "hq.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_hq(path)
    assert any(f"/{expected}" in str(p) for p in caught.value.problems), \
        [str(p) for p in caught.value.problems]


def test_vipctl_hq_refuses_a_bad_file_with_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "hq.yaml"
    path.write_text("mqtt: {url: 'mqtt://x'}\ndatabase: {url: 'sqlite:///hq.db'}\nsitez: {}\n")
    result = CliRunner().invoke(app, ["hq", "--config", str(path)])
    assert result.exit_code == 2
    assert "hq.yaml:3: sitez" in result.output
