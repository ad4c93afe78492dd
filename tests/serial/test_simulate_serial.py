"""`vipctl simulate` stands up the serial ports too and says where they answer."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
from pathlib import Path

import serial
import yaml

from devices.conventions.modbus_rtu import read_holding, read_registers
from tests.broker import Mosquitto
from tests.cli.helpers import REPO, group_gone, kill_group, start
from tests.cli.test_simulate import wait_ready


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def site_with_serial(tmp_path: Path, broker: Mosquitto, modbus_port: int) -> Path:
    data = yaml.safe_load((REPO / "config" / "demo.yaml").read_text(encoding="utf-8"))
    data["mqtt"]["url"] = broker.url
    data["serial_ports"] = {
        "ac_gateway": {"url": "/dev/serial/by-id/usb-FTDI_FT232R_USB_UART_A10K8L2Q-if00-port0"},
        "rs485": {"url": f"socket://127.0.0.1:{modbus_port}", "stopbits": 2},
        "dmx_widget": {"url": "/dev/ttyUSB7"},
    }
    data["devices"]["vip_room_ac"] = {"kind": "climate", "serial": {
        "convention": "coolmaster", "port": "ac_gateway", "unit": "L1.100"}}
    data["devices"]["meeting_ac"] = {"kind": "climate", "serial": {
        "convention": "intesis-modbus", "port": "rs485", "address": 5}}
    data["devices"]["model_area_lights"] = {"kind": "light", "serial": {
        "convention": "dmx", "port": "dmx_widget", "channels": [1, 2]}}
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def ask(url: str, request: bytes, end: bytes | None, size: int = 0) -> bytes:
    port = serial.serial_for_url(url, timeout=2)
    try:
        port.write(request)
        return port.read_until(end) if end else port.read(size)
    finally:
        port.close()


async def test_simulate_prints_where_each_serial_port_answers(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    modbus_port = free_port()
    proc = start("simulate", "--config", str(site_with_serial(tmp_path, mosquitto, modbus_port)))
    try:
        out = await wait_ready(proc)
        urls = dict(re.findall(r"^serial_ports\.(\w+)\.url: (\S+)$", out, re.MULTILINE))
        # Device paths become pseudo-terminals to put in the file; a local socket:// port is
        # served where the file says, so it needs no line.
        assert set(urls) == {"ac_gateway", "dmx_widget"}
        assert "3 simulated serial ports" in out
        status = await asyncio.to_thread(ask, urls["ac_gateway"], b"ls2\r\n", b"\r\n>")
        assert re.match(rb"L1\.100 OFF 25\.0C 27\.0C Auto Cool OK   - 0\r\nOK\r\n>$", status)
        reply = await asyncio.to_thread(ask, f"socket://127.0.0.1:{modbus_port}",
                                        read_holding(5, 0, 5), None, 15)
        assert read_registers("5/read", reply, 5, 5)[0] == 0  # off, as it left the factory
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(proc.wait, 10) == 0
        assert group_gone(proc)
        assert not await asyncio.to_thread(os.path.lexists, urls["ac_gateway"])  # pty gone
    finally:
        kill_group(proc)
        await asyncio.to_thread(subprocess.Popen.wait, proc)
