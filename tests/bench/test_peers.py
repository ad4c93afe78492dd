"""Whether Node-RED can run beside vipctl, and the flow the bench gives it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import peers, sitegen


def test_without_node_the_row_says_node_not_found(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(peers.shutil, "which", lambda name: None)
    assert peers.unavailable() == peers.Unavailable("node not found")


def test_without_the_install_the_row_says_how_to_install(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(peers.shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(peers, "RED_JS", tmp_path / "red.js")
    missing = peers.unavailable()
    assert missing is not None and "scripts/bench --peers" in missing.reason


def test_the_pinned_version_is_the_locked_one() -> None:
    package = json.loads((peers.FILES / "package.json").read_text())
    lock = json.loads((peers.FILES / "package-lock.json").read_text())
    pinned = package["dependencies"]["node-red"]
    assert pinned.startswith("4.1.") and pinned[0].isdigit()  # exact: no ^ or ~
    assert lock["packages"]["node_modules/node-red"]["version"] == pinned


def test_the_flow_presses_and_says_on_the_topics_the_bench_uses() -> None:
    flow = {node["id"]: node for node in json.loads((peers.FILES / "flow.json").read_text())}
    press = next(n for n in flow.values() if n["type"] == "mqtt in")
    say = next(n for n in flow.values() if n["type"] == "mqtt out")
    broker = flow[press["broker"]]
    assert press["topic"] == peers.PRESS_TOPIC and press["datatype"] == "json"
    assert say["broker"] == press["broker"] and say["qos"] == ""  # the press's QoS
    assert (broker["broker"], broker["port"]) == ("${BENCH_MQTT_HOST}", "${BENCH_MQTT_PORT}")
    function = flow[press["wires"][0][0]]
    assert function["wires"] == [[say["id"]]]
    assert f'"{peers.SAY_TOPIC}"' in function["func"]
    # The texts the shipped scene's F1, F7 and F13 say, for 王先生.
    scene = {c["id"]: c for c in sitegen.shipped_scene()["cues"]}
    for cue in ("f1-arrival", "f7-show-flat", "f13-departure"):
        text = scene[cue]["announce"]["text"].format(surname="王", honorific="先生")
        assert text in function["func"], cue
