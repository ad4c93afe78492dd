"""The media watch logs a player's error as the device's text: quoted, one line, bounded."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from controller.config.site import load_site
from controller.engine.media_watch import LOGGED_ERROR_CHARS, MediaWatch
from controller.store.database import Database
from controller.store.events import EventLog
from devices.registry import DeviceRegistry
from devices.transports.mqtt import MqttSettings, MqttTransport

DEMO = Path(__file__).resolve().parents[2] / "config" / "demo.yaml"
STATE = "vipctl/media/background_music/state"


def test_an_error_text_cannot_forge_or_flood_the_log(
    db: Database, caplog: pytest.LogCaptureFixture,
) -> None:
    site = load_site(DEMO)
    transport = MqttTransport(MqttSettings(host="127.0.0.1"))  # never started: nothing sent
    registry = DeviceRegistry.build(site.devices, site.groups, transport=transport,
                                    policy_for=site.policy_for)
    events = EventLog(db)
    MediaWatch(registry, events)
    forged = "no file\n2026-12-05 12:00:00,000 ERROR controller.daemon: forged line"
    error = forged + "x" * 20_000
    music = registry["background_music"]
    with caplog.at_level(logging.INFO, logger="controller.engine.media_watch"):
        music.handle(STATE, json.dumps({"playback": "stopped", "error": error}).encode())
        music.handle(STATE, json.dumps({"playback": "playing", "error": None}).encode())
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2
    assert all("\n" not in line and len(line) < LOGGED_ERROR_CHARS + 100 for line in lines)
    assert "\\n2026-12-05" in lines[0] and "20,0" in lines[0]
    # The event log keeps the whole text.
    [failed] = [e for e in events.query(limit=10) if e.result == "failed"]
    assert failed.detail["error"] == error
