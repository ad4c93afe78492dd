"""The site file's serial_ports and serial: blocks, checked once at load, errors with lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.config.site import load_site
from devices.conventions.coolmaster import CoolMasterOptions
from devices.conventions.dmx import DmxOptions
from devices.conventions.modbus_intesis import IntesisModbusOptions
from devices.serial_site import SerialSite
from tests.sitefiles import REPO, problems, write

HEAD = """\
site: {name: 测试案场, timezone: Asia/Shanghai}
mqtt: {url: mqtt://127.0.0.1:1883}
serial_ports:
  ac_gateway: {url: /dev/serial/by-id/usb-FTDI_FT232R-if00-port0}
  rs485: {url: "socket://192.168.10.31:4001", baudrate: 19200, parity: E, stopbits: 2}
  dmx_widget: {url: /dev/ttyUSB3}
devices:
"""

GOOD = HEAD + """\
  vip_room_ac:
    kind: climate
    serial: {convention: coolmaster, port: ac_gateway, unit: L1.100}
  lobby_ac:
    kind: climate
    serial: {convention: coolmaster, port: ac_gateway, unit: L1.101}
  meeting_ac:
    kind: climate
    serial: {convention: intesis-modbus, port: rs485, address: 3, fan_speeds: 5}
  model_area_lights:
    kind: light
    serial: {convention: dmx, port: dmx_widget, channels: [1, 2, 3, 4]}
  spotlights:
    kind: switch
    serial: {convention: dmx, port: dmx_widget, channels: [5]}
"""


def test_serial_devices_and_ports_load(tmp_path: Path) -> None:
    site = load_site(write(tmp_path, GOOD))
    assert isinstance(site.devices["vip_room_ac"].binding, CoolMasterOptions)
    assert isinstance(site.devices["meeting_ac"].binding, IntesisModbusOptions)
    assert isinstance(site.devices["model_area_lights"].binding, DmxOptions)
    assert site.devices["spotlights"].transport == "serial"
    rs485 = site.serial_ports["rs485"].settings()
    assert (rs485.baudrate, rs485.parity, rs485.stopbits, rs485.reply_timeout) == (
        19200, "E", 2, 1.0)
    ports = SerialSite(site.devices, site.serial_ports)
    assert set(ports.ports) == {"ac_gateway", "rs485", "dmx_widget"}
    assert ports.transports["vip_room_ac"] is ports.transports["lobby_ac"]  # one owner


@pytest.mark.parametrize(("change", "expected"), [
    (("port: ac_gateway, unit: L1.101", "port: ac_gatway, unit: L1.101"),
     ":13: devices.lobby_ac.serial.port: no serial port 'ac_gatway' in serial_ports"),
    (("unit: L1.101", "unit: L1.100"),
     ":13: devices.lobby_ac.serial.unit: devices.vip_room_ac already uses unit L1.100 on port "
     "'ac_gateway'"),
    (("channels: [5]", "channels: [4, 5]"),
     ":22: devices.spotlights.serial.channels: devices.model_area_lights already uses channel "
     "4 on port 'dmx_widget'"),
    (("port: rs485, address: 3", "port: ac_gateway, address: 3"),
     ":16: devices.meeting_ac.serial.port: port 'ac_gateway' already speaks coolmaster "
     "(devices.vip_room_ac); one convention per port"),
    (("unit: L1.100", "unit: L1.1000"), ":10: devices.vip_room_ac.serial.unit: "),
    (("channels: [5]", "channels: [513]"),
     ":22: devices.spotlights.serial.channels: DMX channels are 1 to 512"),
    (("kind: switch", "kind: climate"),
     ":22: devices.spotlights.serial.convention: 'dmx' cannot drive a climate"),
    (("/dev/ttyUSB3", "ttyUSB3"), ":6: serial_ports.dmx_widget.url: "),
    (('"socket://192.168.10.31:4001"', '"socket://192.168.10.31"'),
     ":5: serial_ports.rs485.url: socket:// needs a host and a port"),
    (('"socket://192.168.10.31:4001"', '"mqtt://192.168.10.31:4001"'),
     ":5: serial_ports.rs485.url: the scheme must be one of"),
    (("stopbits: 2", "stopbits: 3"),
     ":5: serial_ports.rs485.stopbits: stop bits are 1, 1.5 or 2"),
    (("/dev/ttyUSB3", "/dev/serial/by-id/usb-FTDI_FT232R-if00-port0"),
     ":6: serial_ports.dmx_widget.url: serial_ports.ac_gateway already opens"),
])
def test_mistakes_are_named_with_their_line(
    tmp_path: Path, change: tuple[str, str], expected: str
) -> None:
    path = write(tmp_path, GOOD.replace(*change, 1))
    found = problems(path)
    assert any(p.startswith(f"{path}{expected}") for p in found), found


def test_the_example_site_shows_serial_devices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIPCTL_MQTT_PASSWORD", "x")
    site = load_site(REPO / "config" / "example-site.yaml")
    assert site.devices["vip_room_ac"].binding == CoolMasterOptions(
        convention="coolmaster", port="ac_gateway", unit="L1.100")
    lights = site.devices["model_area_lights"].binding
    assert isinstance(lights, DmxOptions) and lights.port == "dmx_widget"
    assert "model_area_lights" in site.resolve("all_lights")
    assert site.serial_ports["ac_gateway"].url.startswith("/dev/serial/by-id/")
