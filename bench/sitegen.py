"""Site and scene files for the bench, generated: no 1,000-device file lives in the repo.

The devices speak the conventions of config/demo.yaml; ids and topics are numbered.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from scenes.loader import DEFAULT_SCENE

ROOT = Path(__file__).resolve().parents[1]
# The demo's command policy (config/demo.yaml): a missing confirmation shows within a second.
COMMANDS = {"confirm_timeout": 1.0, "retries": 2, "backoff": 0.2, "max_backoff": 1.0}
BUTTON: dict[str, Any] = {
    "kind": "button", "name": "礼宾按钮",
    "mqtt": {"convention": "zigbee2mqtt", "name": "concierge_button"},
    "triggers": {"single": "arrival", "double": "show_flat", "hold": "departure"},
}
INTERCOM: dict[str, Any] = {
    "kind": "intercom", "name": "员工对讲",
    "mqtt": {"convention": "vipctl-intercom", "topic": "vipctl/intercom/staff"},
}
# The topics the bench presses and watches (those of BUTTON and INTERCOM above).
BUTTON_TOPIC = "zigbee2mqtt/concierge_button"
SAY_TOPIC = "vipctl/intercom/staff/say"
EVENT_TOPIC = "vipctl/intercom/staff/event"  # the gateway's "done" once it has played one


def light(i: int) -> tuple[str, dict[str, Any]]:
    """Light number i: even ones Tasmota, odd ones Zigbee2MQTT, as sites mix them."""
    if i % 2 == 0:
        return f"light_{i:04d}", {"kind": "light",
                                  "mqtt": {"convention": "tasmota", "topic": f"light_{i:04d}"}}
    return f"light_{i:04d}", {"kind": "light",
                              "mqtt": {"convention": "zigbee2mqtt", "name": f"light_{i:04d}"}}


def write_site(path: Path, *, broker_url: str, database: Path, devices: Mapping[str, Any],
               groups: Mapping[str, list[str]] | None = None, client_id: str = "vipctl-bench",
               extra: Mapping[str, Any] | None = None) -> Path:
    site = {
        "site": {"name": "基准测试案场", "timezone": "Asia/Shanghai"},
        "mqtt": {"url": broker_url, "client_id": client_id},
        "database": {"url": f"sqlite:///{database}"},
        "commands": COMMANDS,
        "devices": dict(devices),
        "groups": dict(groups or {}),
        **(extra or {}),
    }
    path.write_text(yaml.safe_dump(site, allow_unicode=True, sort_keys=False))
    return path


def demo() -> tuple[dict[str, Any], dict[str, list[str]]]:
    """config/demo.yaml's devices and groups: one device of every kind."""
    data = yaml.safe_load((ROOT / "config" / "demo.yaml").read_text())
    return data["devices"], data["groups"]


def shipped_scene() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(DEFAULT_SCENE.read_text())
    return data


def trigger_scene(path: Path, *, baseline: bool = False) -> Path:
    """The shipped scene's triggered announcements (F1, F7, F13) and nothing else, so that
    each press yields exactly one intercom command; the restore follows the departure.
    `baseline`: keep the music's (for a site whose intercom ducks it)."""
    scene = shipped_scene()
    scene["cues"] = [c for c in scene["cues"]
                     if str(c["at"]).split("+")[0] in ("arrival", "show_flat", "departure")]
    scene["holds"] = []
    if not baseline:
        scene["baseline"] = []
    scene["restore"] = {"at": "departure", "description": "bench: nothing to restore"}
    path.write_text(yaml.safe_dump(scene, allow_unicode=True, sort_keys=False))
    return path


def write_scene(path: Path, scene: Mapping[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(dict(scene), allow_unicode=True, sort_keys=False))
    return path
