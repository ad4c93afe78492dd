"""Scene data for the schema tests: the demo site's targets, a minimal scene, and its errors."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from pydantic import ValidationError

from common.yamlconf import FieldError
from devices.capabilities import attributes_of
from scenes.model import Scene

# The ids of config/demo.yaml, and what each takes (all_lights is lights only).
DEMO_DEVICES = {
    "model_area_lights": "light", "hall_lights": "light", "spotlights": "light",
    "vip_room_ac": "climate", "lobby_thermostat": "climate", "background_music": "media",
    "vip_room_video": "media", "staff_intercom": "intercom", "concierge_button": "button",
    "outdoor_weather": "sensor", "vip_room_climate": "sensor",
}
DEMO_TARGETS = set(DEMO_DEVICES) | {"all_lights"}
DEMO_ATTRIBUTES = {d: attributes_of(k) for d, k in DEMO_DEVICES.items()}  # type: ignore[index]
DEMO_ATTRIBUTES["all_lights"] = attributes_of("light")

MINIMAL: dict[str, Any] = {
    "name": "test",
    "announcements": {"intercom": "staff_intercom"},
    "cues": [{"id": "lights", "at": "start-5m", "actions": [
        {"target": "hall_lights", "set": {"power": True}}]}],
    "restore": {"at": "departure+5m"},
}


def scene(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(MINIMAL)
    data.update(changes)
    return data


def errors(data: dict[str, Any], **context: Any) -> list[tuple[str, str]]:
    """(path, message) of each error; a FieldError's own paths, as common.yamlconf reads them."""
    with pytest.raises(ValidationError) as info:
        Scene.model_validate(data, context=context or None)
    out = []
    for e in info.value.errors():
        loc = tuple(e["loc"])
        error = (e.get("ctx") or {}).get("error")
        issues = error.issues if isinstance(error, FieldError) else [((), e["msg"])]
        out += [(".".join(map(str, loc + tuple(at))), message) for at, message in issues]
    return out
