"""Command-line overrides of the site file (--mqtt, --prefix) keep what the file says."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.config.overrides import with_broker
from controller.config.site import load_site

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "example-site.yaml"


def test_another_broker_keeps_credentials_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("VIPCTL_MQTT_PASSWORD", "pw-from-env")
    site = load_site(EXAMPLE)
    moved = with_broker(site, "mqtt://127.0.0.1:18830", "rehearsal")
    assert moved.mqtt.connection == ("127.0.0.1", 18830, False)
    assert moved.mqtt.topic_prefix == "rehearsal"
    assert moved.mqtt.username == site.mqtt.username
    assert moved.mqtt.password is not None
    assert moved.mqtt.password.get_secret_value() == "pw-from-env"
