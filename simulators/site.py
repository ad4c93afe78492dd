"""Stand up a simulator for every device of a site configuration."""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Mapping
from typing import Any, Protocol

from devices.conventions.base import ConventionOptions
from devices.model import Kind
from simulators.base import SimulatedDevice

# convention tag → module with the simulator factory `make(...)`
MODULES = {
    "tasmota": "simulators.tasmota",
    "zigbee2mqtt": "simulators.zigbee2mqtt",
    "vipctl-media": "simulators.vipctl_media",
    "vipctl-intercom": "simulators.vipctl_intercom",
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
    module: Any = importlib.import_module(MODULES[convention])
    sim: SimulatedDevice = module.make(
        device_id, spec.kind, spec.binding, host=host, port=port, topic_prefix=topic_prefix
    )
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
