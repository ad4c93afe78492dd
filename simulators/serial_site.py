"""A simulator for every serial port of a site: the gateway or widget its devices are behind.

A port configured as `socket://` on this machine is served right there, so the site file
works as it is. Any other port (a device path, a remote serial server) gets a pseudo-terminal
under `workdir`, and `url` says what to put in the site file instead.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from devices.conventions.base import ConventionOptions
from devices.conventions.coolmaster import CoolMasterOptions
from devices.conventions.modbus_intesis import IntesisModbusOptions
from devices.conventions.serial_base import SerialOptions
from devices.serial_site import SerialPortConfig, serial_bindings
from simulators.coolmaster import CoolMasterSimulator
from simulators.dmx import DmxWidgetSimulator
from simulators.modbus_intesis import IntesisModbusSimulator
from simulators.serial_link import Link, PtyLink, SerialSimulator, SocketLink

# Hosts a simulator can listen on for a socket:// port of the site file.
LOCAL_HOSTS = ("127.0.0.1", "localhost", "0.0.0.0", "::1")


class _Spec(Protocol):
    @property
    def binding(self) -> ConventionOptions: ...


@dataclass(frozen=True, slots=True)
class SerialPoke:
    port: str
    convention: str
    devices: str  # each device and where it is on the port
    configured: str  # the url in the site file
    url: str  # the url the simulator answers on
    try_it: str  # a way to talk to it by hand ("" for binary protocols)


def link_for(name: str, config: SerialPortConfig, workdir: Path) -> Link:
    parts = urlsplit(config.url)
    if parts.scheme == "socket" and parts.hostname in LOCAL_HOSTS and parts.port:
        return SocketLink(parts.hostname, parts.port)
    return PtyLink(workdir / name)


def make_port_simulator(name: str, bindings: list[SerialOptions], link: Link) -> SerialSimulator:
    first = bindings[0]
    if isinstance(first, CoolMasterOptions):
        units = [b.unit for b in bindings if isinstance(b, CoolMasterOptions)]
        return CoolMasterSimulator(name, link, units)
    if isinstance(first, IntesisModbusOptions):
        return IntesisModbusSimulator(name, link, {
            b.address: b for b in bindings if isinstance(b, IntesisModbusOptions)})
    return DmxWidgetSimulator(name, link)


class SerialSimulators:
    """Every serial port of a site, simulated. `async with SerialSimulators(...)`."""

    def __init__(self, devices: Mapping[str, _Spec], ports: Mapping[str, SerialPortConfig],
                 workdir: Path) -> None:
        self.ports = ports
        self.on_port: dict[str, dict[str, SerialOptions]] = {}
        for device_id, binding in serial_bindings(devices).items():
            self.on_port.setdefault(binding.port, {})[device_id] = binding
        self.sims: dict[str, SerialSimulator] = {
            name: make_port_simulator(name, list(bindings.values()),
                                      link_for(name, ports[name], workdir))
            for name, bindings in self.on_port.items()}

    def __getitem__(self, port: str) -> SerialSimulator:
        return self.sims[port]

    async def start(self) -> None:
        for sim in self.sims.values():
            await sim.start()

    async def stop(self) -> None:
        for sim in self.sims.values():
            await sim.stop()

    async def __aenter__(self) -> SerialSimulators:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def pokes(self) -> list[SerialPoke]:
        out = []
        for name, sim in self.sims.items():
            bindings = self.on_port[name]
            convention = str(getattr(next(iter(bindings.values())), "convention", ""))
            devices = ", ".join(f"{d} ({b.where().removeprefix(name).strip()})"
                                for d, b in bindings.items())
            try_it = ""
            if isinstance(sim, CoolMasterSimulator):  # an ASCII protocol: type `ls2`
                try_it = f"python -m serial.tools.miniterm --eol CRLF {shlex.quote(sim.url)}"
            out.append(SerialPoke(name, convention, devices, self.ports[name].url, sim.url,
                                  try_it))
        return out
