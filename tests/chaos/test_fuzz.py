"""The campaign's two fuzzers in their quick (CI) size: garbage on every MQTT topic the
daemon subscribes to, with presses in between; and the HTTP API fuzzed from its schema in
three roles. Nothing may fail: no 5xx, no dead or stalled daemon, every press answered."""

from __future__ import annotations

from pathlib import Path

from chaos import fuzz_api, fuzz_mqtt

SEED = 12  # issue 12; any seed must pass, this one is the one CI runs


def test_mqtt_garbage_leaves_the_daemon_answering_presses(tmp_path: Path) -> None:
    result = fuzz_mqtt.run(tmp_path, quick=True, seed=SEED)
    assert result["failures"] == 0, result["notes"]
    assert result["cases"] >= fuzz_mqtt.QUICK.cases
    assert result["presses"] >= result["cases"] // fuzz_mqtt.QUICK.burst
    assert result["press_ms"] <= fuzz_mqtt.PRESS_BOUND_S * 1000, result["notes"]
    assert result["rss_mb_after"] - result["rss_mb_before"] <= fuzz_mqtt.RSS_GROWTH_MB


def test_api_fuzz_never_gets_a_5xx(tmp_path: Path) -> None:
    result = fuzz_api.run(tmp_path, quick=True, seed=SEED)
    assert result["failures"] == 0, result["notes"]
    assert result["cases"] >= fuzz_api.QUICK_CASES
