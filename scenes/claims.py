"""Layered claims on device attributes, in the manner of BACnet's priority array.

Each layer (a visit's scene, a manual override) claims attributes of devices at a priority.
A device attribute's effective value is the highest-priority claim (the most recent one on
a tie), else the site's baseline, else — at the moment its last claim goes — the "floor":
what the device reported when the first claim on it was made. Releasing a layer therefore
undoes only what that layer changed: a second visit's lights stay on when the first visit
restores, lights that were already on stay on, and the baseline music is never switched off.

Unlike BACnet (1 is the highest of 16), a higher number wins here. Pure: no I/O, no clock.
The table is device-level: the caller expands groups into their devices.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from devices.model import State, StateValue, matches

OVERRIDE_LAYER = "override"  # the layer manual overrides take (see ClaimTable.override)
# Above any scene (scene priorities default to 50): a person's decision wins over a schedule.
OVERRIDE_PRIORITY = 1000

Changes = dict[str, dict[str, StateValue]]


@dataclass(frozen=True, slots=True)
class Claim:
    layer: str
    priority: int
    seq: int  # claim order, for ties
    value: StateValue
    hold: bool  # enforced: set back when the device reports otherwise


def same(a: StateValue | None, b: StateValue | None) -> bool:
    if a is None or b is None:
        return a is b
    return matches({"v": a}, {"v": b})


class ClaimTable:
    def __init__(self) -> None:
        self._claims: dict[str, dict[str, dict[str, Claim]]] = {}  # device → attr → layer
        self._floors: dict[str, dict[str, StateValue]] = {}
        self._baseline: dict[str, dict[str, tuple[StateValue, bool]]] = {}
        self._seq = 0

    # -- reading --------------------------------------------------------------------------

    def _winner(self, device: str, attr: str) -> Claim | None:
        claims = self._claims.get(device, {}).get(attr)
        if not claims:
            return None
        return max(claims.values(), key=lambda c: (c.priority, c.seq))

    def _value(self, device: str, attr: str, fallback: State | None = None) -> StateValue | None:
        winner = self._winner(device, attr)
        if winner is not None:
            return winner.value
        if attr in self._baseline.get(device, {}):
            return self._baseline[device][attr][0]
        if attr in self._floors.get(device, {}):
            return self._floors[device][attr]
        return (fallback or {}).get(attr)

    def _attributes(self, device: str) -> set[str]:
        return (set(self._claims.get(device, {})) | set(self._baseline.get(device, {}))
                | set(self._floors.get(device, {})))

    def effective(self, device: str) -> dict[str, StateValue]:
        """What the device should be: every attribute a claim or the baseline decides."""
        out: dict[str, StateValue] = {}
        for attr in self._attributes(device):
            value = self._value(device, attr)
            if value is not None:
                out[attr] = value
        return out

    def holds_for(self, device: str) -> dict[str, StateValue]:
        """The attributes to enforce now: those whose effective value a hold (or the held
        baseline) asks for. An override with another value suspends the hold beneath it."""
        out: dict[str, StateValue] = {}
        for attr in self._attributes(device):
            value = self._value(device, attr)
            claims = self._claims.get(device, {}).get(attr, {})
            wanted = [c.value for c in claims.values() if c.hold]
            base = self._baseline.get(device, {}).get(attr)
            if base is not None and base[1]:
                wanted.append(base[0])
            if value is not None and any(same(value, w) for w in wanted):
                out[attr] = value
        return out

    def layers(self) -> set[str]:
        return {layer for attrs in self._claims.values() for c in attrs.values() for layer in c}

    def claimed(self, layer: str) -> dict[str, dict[str, StateValue]]:
        """What one layer claims, per device (whether or not it currently wins)."""
        out: dict[str, dict[str, StateValue]] = {}
        for device, attrs in self._claims.items():
            for attr, claims in attrs.items():
                if layer in claims:
                    out.setdefault(device, {})[attr] = claims[layer].value
        return out

    # -- writing --------------------------------------------------------------------------

    def claim(self, layer: str, priority: int, device: str, state: State, *,
              reported: State | None = None, hold: bool = False) -> dict[str, StateValue]:
        """Claim attributes of a device for a layer; returns what to send now.

        `reported` is what the device reports at this moment: it becomes the floor of each
        attribute nobody claimed yet. The result holds the attributes whose effective value
        this claim changed (compared with the claims, the baseline, or else the report).
        """
        attrs = self._claims.setdefault(device, {})
        out: dict[str, StateValue] = {}
        for attr, value in state.items():
            before = self._value(device, attr, reported)
            if not attrs.get(attr):
                floor = (reported or {}).get(attr)
                if floor is not None:
                    self._floors.setdefault(device, {})[attr] = floor
            self._seq += 1
            attrs.setdefault(attr, {})[layer] = Claim(layer, priority, self._seq, value, hold)
            after = self._value(device, attr)
            if after is not None and not same(before, after):
                out[attr] = after
        return out

    def release(self, layer: str, *, reported: Mapping[str, State] | None = None,
                device: str | None = None) -> Changes:
        """Drop a layer's claims (on one device, or all); returns what each device should
        now be set to: only attributes whose effective value changed and that the device
        (per `reported`) does not already show."""
        out: Changes = {}
        for dev, attrs in list(self._claims.items()):
            if device is not None and dev != device:
                continue
            for attr, claims in list(attrs.items()):
                if layer not in claims:
                    continue
                before = self._value(dev, attr)
                del claims[layer]
                after = self._value(dev, attr)
                if not claims:
                    del attrs[attr]
                    self._floors.get(dev, {}).pop(attr, None)
                have = (reported or {}).get(dev, {}).get(attr)
                if after is not None and not same(before, after) and not same(after, have):
                    out.setdefault(dev, {})[attr] = after
            if not attrs:
                del self._claims[dev]
                self._floors.pop(dev, None)
        return out

    def baseline(self, device: str, state: State, *, hold: bool = True,
                 reported: State | None = None) -> dict[str, StateValue]:
        """Set the site's everyday state of a device (held by default); returns what to send
        now, i.e. attributes no claim decides that `reported` does not already show."""
        mine = self._baseline.setdefault(device, {})
        out: dict[str, StateValue] = {}
        for attr, value in state.items():
            mine[attr] = (value, hold)
            if self._winner(device, attr) is None and not same(value, (reported or {}).get(attr)):
                out[attr] = value
        return out

    def override(self, device: str, state: State, priority: int = OVERRIDE_PRIORITY, *,
                 reported: State | None = None) -> dict[str, StateValue]:
        """A manual override: a claim in its own layer, above scenes, never enforced (a hold
        it outranks stops being re-asserted). End it with release(OVERRIDE_LAYER, device=...)."""
        return self.claim(OVERRIDE_LAYER, priority, device, state, reported=reported)

    # -- persistence ----------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able snapshot, so that floors survive a restart of the daemon."""
        return {
            "seq": self._seq,
            "claims": [
                {"device": dev, "attribute": attr, "layer": c.layer, "priority": c.priority,
                 "seq": c.seq, "value": c.value, "hold": c.hold}
                for dev, attrs in self._claims.items()
                for attr, claims in attrs.items()
                for c in claims.values()
            ],
            "floors": {dev: dict(f) for dev, f in self._floors.items()},
            "baseline": {dev: {a: [v, h] for a, (v, h) in b.items()}
                         for dev, b in self._baseline.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ClaimTable:
        table = cls()
        table._seq = int(data["seq"])
        for c in data["claims"]:
            claims = table._claims.setdefault(c["device"], {}).setdefault(c["attribute"], {})
            claims[c["layer"]] = Claim(c["layer"], int(c["priority"]), int(c["seq"]),
                                       c["value"], bool(c["hold"]))
        table._floors = {dev: dict(f) for dev, f in data["floors"].items()}
        table._baseline = {dev: {a: (v, bool(h)) for a, (v, h) in b.items()}
                           for dev, b in data["baseline"].items()}
        return table
