"""`vipctl demo --serial`: the demo site with some of its devices on serial ports.

The VIP room's air conditioner moves behind a simulated CoolMasterNet gateway on a
pseudo-terminal, and the sand-table lights join "all lights" on a simulated DMX widget behind
a serial-over-TCP port, as config/example-site.yaml has them at a real site. The daemon drives
them through its serial ports like any other device; the timeline shows their commands.
"""

from __future__ import annotations

import socket
from collections.abc import Mapping
from pathlib import Path
from typing import TypeVar

from controller.config.site import SiteConfig
from devices.config import DeviceConfig
from devices.serial_site import SerialPortConfig
from simulators.serial_site import SerialSimulators

T = TypeVar("T")

# The demo's serial devices, as the example site names them.
AC, AC_UNIT = "vip_room_ac", "L1.100"
SAND_TABLE, SAND_TABLE_CHANNELS = "sand_table_lights", [1, 2, 3, 4]


def _free_local_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def with_serial_devices(site: SiteConfig, workdir: Path
                        ) -> tuple[SiteConfig, SerialSimulators]:
    """The site with the AC on a CoolMaster gateway and DMX sand-table lights, and the
    simulators that answer on their ports (not started)."""
    ports = {
        "ac_gateway": SerialPortConfig(url=str(workdir / "ac_gateway"), poll_interval=5.0),
        "dmx_widget": SerialPortConfig(url=f"socket://127.0.0.1:{_free_local_port()}"),
    }
    devices = dict(site.devices)
    devices[AC] = DeviceConfig.model_validate({
        "kind": "climate", "name": devices[AC].name,
        "serial": {"convention": "coolmaster", "port": "ac_gateway", "unit": AC_UNIT}})
    devices[SAND_TABLE] = DeviceConfig.model_validate({
        "kind": "light", "name": "沙盘灯光",
        "serial": {"convention": "dmx", "port": "dmx_widget", "channels": SAND_TABLE_CHANNELS}})
    groups = {name: [*members, SAND_TABLE] if name == "all_lights" else members
              for name, members in site.groups.items()}
    # Each part is validated on its own above; the demo site itself was checked at load.
    serial_site = site.model_copy(update={"devices": devices, "groups": groups,
                                          "serial_ports": ports})
    return serial_site, SerialSimulators(devices, ports, workdir)


def simulated(devices: Mapping[str, T]) -> dict[str, T]:
    """The devices left to the MQTT simulators (serial ones have theirs per port)."""
    return {d: spec for d, spec in devices.items() if getattr(spec, "serial", None) is None}


def describe(sims: SerialSimulators) -> str:
    return "serial: " + "; ".join(f"{p.port} ({p.convention}) on {p.url}: {p.devices}"
                                  for p in sims.pokes())
