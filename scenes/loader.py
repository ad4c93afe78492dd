"""Load a scene file; every error names the file, the line and the field.

    vip_reception.yaml:42: cues[3].actions[0].target: 'hall_light' is not a device or group
    of this site (did you mean 'hall_lights'?)
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from common.yamlconf import ConfigError, Problem, load_model, load_model_from_text
from scenes.model import Scene

__all__ = ["ConfigError", "Problem", "load_scene", "load_scene_from_text"]

# The procedure vipctl ships (the brief's 案场VIP接待流程), used when no --scene is given.
DEFAULT_SCENE = Path(__file__).with_name("vip_reception.yaml")


def _context(known_targets: Collection[str] | None,
             target_attributes: Mapping[str, Collection[str]] | None,
             intercoms: Collection[str] | None,
             sensors: Mapping[str, Collection[str]] | None = None) -> dict[str, Any]:
    return {"known_targets": None if known_targets is None else set(known_targets),
            "target_attributes": dict(target_attributes or {}),
            "intercoms": None if intercoms is None else set(intercoms),
            "sensors": None if sensors is None else {k: set(v) for k, v in sensors.items()}}


def load_scene(path: Path = DEFAULT_SCENE, *, known_targets: Collection[str] | None = None,
               target_attributes: Mapping[str, Collection[str]] | None = None,
               intercoms: Collection[str] | None = None,
               sensors: Mapping[str, Collection[str]] | None = None) -> Scene:
    """Read and validate a scene file. Raises ConfigError.

    `known_targets`: the site's device ids and group names; any other target is refused.
    `target_attributes`: per device or group, the attributes it can be set with (for a
    group, what all its members take); a state naming anything else is refused.
    `intercoms`: the devices that can speak; an announcement to any other is refused.
    `sensors`: per sensor, what it measures; a `when:` reading anything else is refused.
    """
    context = _context(known_targets, target_attributes, intercoms, sensors)
    return load_model(path, Scene, context=context)


def load_scene_from_text(text: str, *, filename: str = "<scene>",
                         known_targets: Collection[str] | None = None,
                         target_attributes: Mapping[str, Collection[str]] | None = None,
                         intercoms: Collection[str] | None = None,
                         sensors: Mapping[str, Collection[str]] | None = None) -> Scene:
    context = _context(known_targets, target_attributes, intercoms, sensors)
    return load_model_from_text(text, Scene, filename=filename, context=context)
