"""Stand up a simulator for every device of a site configuration."""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Mapping
from typing import Any, Protocol

from devices.conventions.base import ConventionOptions
from devices.model import HUMIDITY, OCCUPANCY, RAIN, TEMPERATURE, WATER_LEAK, Kind, StateValue
from simulators.base import SimulatedDevice

# convention tag → module with the simulator factory `make(...)`
MODULES = {
    "tasmota": "simulators.tasmota",
    "zigbee2mqtt": "simulators.zigbee2mqtt",
    "vipctl-media": "simulators.vipctl_media",
    "vipctl-intercom": "simulators.vipctl_intercom",
}
# A kind a convention's module leaves to a module of its own.
KIND_MODULES = {("tasmota", "sensor"): "simulators.tasmota_sensor"}


# What a simulated sensor reads when it starts: a dry day, a comfortable room, nobody there.
DEFAULT_READINGS: dict[str, StateValue] = {
    TEMPERATURE: 24.0, HUMIDITY: 55.0, RAIN: False, WATER_LEAK: False, OCCUPANCY: False,
}


class SimSpec(Protocol):
    @property
    def kind(self) -> Kind: ...
    @property
    def binding(self) -> ConventionOptions: ...


def make_simulator(
    device_id: str, spec: SimSpec, *, host: str, port: int, topic_prefix: str = ""
) -> SimulatedDevice:
    convention = str(getattr(spec.binding, "convention"))  # noqa: B009
    name = KIND_MODULES.get((convention, spec.kind), MODULES[convention])
    module: Any = importlib.import_module(name)
    extra: dict[str, Any] = {}
    if spec.kind == "sensor":  # a sensor starts with a reading of what its entry measures
        measures = getattr(spec, "measures", None) or list(DEFAULT_READINGS)
        extra["state"] = {name: DEFAULT_READINGS[name] for name in measures}
    sim: SimulatedDevice = module.make(
        device_id, spec.kind, spec.binding, host=host, port=port, topic_prefix=topic_prefix,
        **extra)
    return sim


class SiteSimulators:
    """Every simulated device of a site, started and stopped together."""

    def __init__(
        self,
        specs: Mapping[str, SimSpec],
        *,
        host: str,
        port: int,
        topic_prefix: str = "",
    ) -> None:
        self.devices: dict[str, SimulatedDevice] = {
            device_id: make_simulator(
                device_id, spec, host=host, port=port, topic_prefix=topic_prefix
            )
            for device_id, spec in specs.items()
        }

    def __getitem__(self, device_id: str) -> SimulatedDevice:
        return self.devices[device_id]

    async def start(self) -> None:
        await asyncio.gather(*(sim.start() for sim in self.devices.values()))

    async def stop(self) -> None:
        await asyncio.gather(*(sim.stop() for sim in self.devices.values()))

    async def __aenter__(self) -> SiteSimulators:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
