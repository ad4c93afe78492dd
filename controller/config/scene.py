"""The scene a site runs, checked against that site's devices when it is loaded: every target
is a device or group of the site, every state names attributes its target's capability takes
(a setpoint on a light is refused), every announcement goes to a device that can speak, and
every condition reads what a sensor of the site measures."""

from __future__ import annotations

from pathlib import Path

from controller.config.site import SiteConfig
from devices.capabilities import Intercom, attributes_of, can
from scenes.loader import DEFAULT_SCENE, load_scene
from scenes.model import Scene


def load_scene_for(site: SiteConfig, path: Path | None = None) -> Scene:
    """The scene (vipctl's own procedure by default) for `site`. Raises ConfigError."""
    attributes: dict[str, frozenset[str]] = {
        device_id: attributes_of(spec.kind) for device_id, spec in site.devices.items()}
    for group, members in site.groups.items():
        # A group takes what all its members take.
        attributes[group] = frozenset.intersection(*(attributes[m] for m in members))
    intercoms = {device_id for device_id, spec in site.devices.items()
                 if can(spec.kind, Intercom)}
    sensors = {device_id: spec.measures for device_id, spec in site.devices.items()
               if spec.kind == "sensor"}
    return load_scene(path or DEFAULT_SCENE, known_targets=set(attributes),
                      target_attributes=attributes, intercoms=intercoms, sensors=sensors)
