"""A cue's condition at the cue's time: the reading it needs, and what the cue does.

The comparison is scenes/conditions.py's; here is what it is compared with: the sensor's
last report (nothing, when the sensor is offline or has not reported), or the visit's party
size. Every decision but a plain "run" goes to the event log, with what was seen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from controller.store.visits import Visit
from devices.capabilities import Sensor
from devices.model import StateValue
from devices.registry import DeviceRegistry
from scenes.conditions import Decision, decide
from scenes.model import Cue

# Why a cue was skipped (or ran without a reading), as the event log spells it (the shared
# event contract).
REASONS = {"skip-condition": "condition", "skip-unknown": "sensor_missing",
           "run-unknown": "sensor_missing"}


@dataclass(frozen=True, slots=True)
class Verdict:
    decision: Decision
    seen: StateValue | None

    @property
    def runs(self) -> bool:
        return self.decision in ("run", "run-unknown")

    def detail(self, cue: Cue) -> dict[str, Any]:
        """The event's detail: the cue, the condition as written, the value seen, and why
        (unless it simply held)."""
        detail: dict[str, Any] = {"cue": cue.id, "condition": str(cue.when or ""),
                                  "value": self.seen}
        if self.decision in REASONS:
            detail["reason"] = REASONS[self.decision]
        return detail


def reading(registry: DeviceRegistry, cue: Cue, visit: Visit) -> StateValue | None:
    """What the cue's condition is about, now; None when there is nothing to judge."""
    if cue.when is None:
        return None
    test = cue.when.test
    if test.device is None:
        return visit.party_size
    sensor = registry.devices.get(test.device)
    if not isinstance(sensor, Sensor):  # a scene checked against another site: nothing
        return None
    if sensor.available is False:
        return None  # its last reading is from before it went away: not now
    return sensor.reading(test.reading)


def verdict(registry: DeviceRegistry, cue: Cue, visit: Visit) -> Verdict | None:
    """None for a cue without a condition."""
    if cue.when is None:
        return None
    seen = reading(registry, cue, visit)
    return Verdict(decide(cue.when.test, seen, cue.when.if_unknown), seen)
