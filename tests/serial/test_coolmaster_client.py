"""The CoolMaster simulator as a client nobody here wrote sees it: Home Assistant's own
library, pycoolmasternet-async, over a real TCP socket, as HA's coolmaster integration uses
it (info, then the status of every unit, then commands, each followed by a refresh).

On Python 3.11 the library is 0.2.3 (0.2.4 and later need Python 3.13; the wire is the
same, see pyproject.toml); a newer one also gets its wake-up variant
(`send_initial_line_feed`)."""

from __future__ import annotations

import asyncio
import inspect
import re
import signal
import socket
import subprocess
from pathlib import Path
from typing import Any

import yaml
from pycoolmasternet_async import CoolMasterNet

from controller.config.site import load_site
from devices.model import FAN, MODE, POWER, SETPOINT
from simulators.coolmaster import DEFAULT_UNIT, CoolMasterSimulator
from simulators.serial_site import SerialSimulators
from tests.broker import Mosquitto
from tests.cli.helpers import REPO, group_gone, kill_group, start
from tests.cli.test_simulate import wait_ready

UNITS = {"vip_room_ac": "L1.100", "meeting_ac": "L1.101"}
# The library's reads time out after this (HA's default is 1 s; a loaded CI machine).
READ_TIMEOUT_S = 5


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def site_file(tmp_path: Path, gateway_port: int, mqtt_url: str = "mqtt://127.0.0.1:1883"
              ) -> Path:
    """The demo site with its two air conditioners behind one CoolMasterNet's TCP port."""
    data = yaml.safe_load((REPO / "config" / "demo.yaml").read_text(encoding="utf-8"))
    data["mqtt"]["url"] = mqtt_url
    data["serial_ports"] = {"ac_gateway": {"url": f"socket://127.0.0.1:{gateway_port}"}}
    for device_id, unit in UNITS.items():
        data["devices"][device_id] = {"kind": "climate", "serial": {
            "convention": "coolmaster", "port": "ac_gateway", "unit": unit}}
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def client_variants() -> list[dict[str, Any]]:
    """The ways Home Assistant builds the client with the installed release."""
    variants: list[dict[str, Any]] = [{}]
    if "send_initial_line_feed" in inspect.signature(CoolMasterNet).parameters:
        variants.append({"send_initial_line_feed": True})  # HA's "send wake-up prompt"
    return variants


async def test_home_assistants_library_lists_reads_and_drives_both_units(
    tmp_path: Path
) -> None:
    port = free_port()
    site = load_site(site_file(tmp_path, port), require_env=False)
    async with SerialSimulators(site.devices, site.serial_ports, tmp_path) as serial:
        sim = serial["ac_gateway"]
        assert isinstance(sim, CoolMasterSimulator)
        for variant in client_variants():
            for unit in sim.units.values():
                unit.clear()
                unit.update(DEFAULT_UNIT)
            sim.received.clear()
            cool = CoolMasterNet("127.0.0.1", port, read_timeout=READ_TIMEOUT_S, **variant)

            info = await cool.info()  # what HA's set-up asks first; `version` is shown
            assert info["version"] == "1.3.4" and info["S/N"], info
            units = await cool.status()
            assert sorted(units) == sorted(UNITS.values())
            for unit in units.values():
                assert (unit.is_on, unit.mode, unit.thermostat, unit.temperature,
                        unit.fan_speed, unit.error_code, unit.clean_filter,
                        unit.temperature_unit) == (False, "cool", 25.0, 27.0, "auto", None,
                                                   False, "celsius")

            vip = await units["L1.100"].turn_on()
            vip = await vip.set_mode("heat")
            vip = await vip.set_thermostat(23.5)
            vip = await vip.set_fan_speed("med")  # as HA sends it: a word
            assert (vip.is_on, vip.mode, vip.thermostat, vip.fan_speed) == (
                True, "heat", 23.5, "med")
            assert sim.units["L1.100"] == {POWER: True, MODE: "heat", SETPOINT: 23.5,
                                           FAN: "medium"}, variant
            assert sim.units["L1.101"] == DEFAULT_UNIT  # the other unit untouched
            sent = [request for _, request in sim.commands()]
            assert sent[:2] == ["set", "ls2"]
            assert [r for r in sent if not r.startswith("ls2")] == [
                "set", "on L1.100", "heat L1.100", "temp L1.100 23.5", "fspeed L1.100 med"]

            meeting = await (await cool.status())["L1.101"].set_mode("fan")
            meeting = await meeting.turn_off()
            assert (meeting.is_on, meeting.mode) == (False, "fan")
            assert sim.units["L1.101"][MODE] == "fan_only"


async def test_the_gateway_greets_each_connection_and_answers_a_bare_line(
    tmp_path: Path
) -> None:
    port = free_port()
    site = load_site(site_file(tmp_path, port), require_env=False)
    async with SerialSimulators(site.devices, site.serial_ports, tmp_path):
        for _ in range(2):  # each new connection is greeted, not only the first
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            try:
                assert await asyncio.wait_for(reader.readexactly(1), 5) == b">"
                writer.write(b"\n")  # Enter alone: a prompt again, nothing else
                assert await asyncio.wait_for(reader.readexactly(1), 5) == b">"
                writer.write(b"query L1.100 h\nquery L1.100 s\nbogus\n")
                replies = await asyncio.wait_for(reader.readuntil(b"Unknown command\r\n>"), 5)
                assert replies == (b"25.00\r\nOK\r\n>Unsupported Feature\r\n>"
                                   b"Unknown command\r\n>")
            finally:
                writer.close()
                await writer.wait_closed()


async def test_vipctl_simulate_serves_the_gateway_to_home_assistants_library(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    port = free_port()
    proc = start("simulate", "--config", str(site_file(tmp_path, port, mosquitto.url)))
    try:
        out = await wait_ready(proc)
        assert re.search(r"ac_gateway\s.*coolmaster", out), out
        cool = CoolMasterNet("127.0.0.1", port, read_timeout=READ_TIMEOUT_S)
        units = await cool.status()
        assert sorted(units) == sorted(UNITS.values())
        vip = await units["L1.100"].turn_on()
        assert vip.is_on and not (await cool.status())["L1.101"].is_on
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(proc.wait, 10) == 0
        assert group_gone(proc)
    finally:
        kill_group(proc)
        await asyncio.to_thread(subprocess.Popen.wait, proc)
