"""The site file's `serial_ports:` and the ports built from it.

    serial_ports:
      ac_gateway:                      # a CoolMasterNet's RS-232 port behind a USB adapter
        url: /dev/serial/by-id/usb-FTDI_FT232R_USB_UART_A1B2C3-if00-port0
      rs485:                           # an RS-485 line of Intesis Modbus gateways
        url: socket://192.168.10.40:4001   # a serial-over-TCP server
        baudrate: 9600
        parity: N
        stopbits: 2

Devices name their port (`serial: {convention: coolmaster, port: ac_gateway, unit: L1.100}`).
One port is owned by one SerialPort and speaks one convention.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from common.yamlconf import FieldError
from devices.conventions.base import ConventionOptions
from devices.conventions.registry import codec_class
from devices.conventions.serial_base import SerialCodec, SerialOptions
from devices.device import Device
from devices.transports.serial import SerialPort
from devices.transports.serial_settings import (
    DEFAULT_BAUDRATE,
    DEFAULT_POLL_INTERVAL_S,
    DEFAULT_REFRESH_INTERVAL_S,
    DEFAULT_REPLY_TIMEOUT_S,
    SerialSettings,
)

# URL schemes pyserial opens that make sense for a site: a device path has none.
URL_SCHEMES = ("socket", "rfc2217", "loop")


class SerialPortConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = Field(min_length=1)  # a device path, socket://host:port or rfc2217://host:port
    baudrate: int = Field(default=DEFAULT_BAUDRATE, gt=0, le=4_000_000)
    bytesize: Literal[5, 6, 7, 8] = 8
    parity: Literal["N", "E", "O", "M", "S"] = "N"
    stopbits: float = 1  # 1, 1.5 or 2
    reply_timeout: float = Field(default=DEFAULT_REPLY_TIMEOUT_S, gt=0, le=30,
                                 allow_inf_nan=False)  # seconds for a unit to answer
    poll_interval: float = Field(default=DEFAULT_POLL_INTERVAL_S, gt=0, allow_inf_nan=False)
    refresh_interval: float = Field(default=DEFAULT_REFRESH_INTERVAL_S, gt=0,
                                    allow_inf_nan=False)  # DMX: the universe written again

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        if "://" not in value:
            if not value.startswith("/"):
                raise ValueError("a device path is absolute (/dev/ttyUSB0, /dev/serial/by-id/…)")
            return value
        parts = urlsplit(value)
        if parts.scheme not in URL_SCHEMES:
            raise ValueError(f"the scheme must be one of {', '.join(URL_SCHEMES)} "
                             f"(got {parts.scheme}://), or give a device path")
        if parts.scheme != "loop":
            try:
                port = parts.port
            except ValueError:
                port = None
            if not parts.hostname or not port:
                raise ValueError(f"{parts.scheme}:// needs a host and a port "
                                 f"({parts.scheme}://192.168.10.40:4001)")
        return value

    @field_validator("stopbits")
    @classmethod
    def _check_stopbits(cls, value: float) -> float:
        if value not in (1, 1.5, 2):
            raise ValueError("stop bits are 1, 1.5 or 2")
        return value

    def settings(self) -> SerialSettings:
        return SerialSettings(
            url=self.url, baudrate=self.baudrate, bytesize=self.bytesize, parity=self.parity,
            stopbits=self.stopbits, reply_timeout=self.reply_timeout,
            poll_interval=self.poll_interval, refresh_interval=self.refresh_interval)


class _Spec(Protocol):
    @property
    def binding(self) -> ConventionOptions: ...


def serial_bindings(devices: Mapping[str, _Spec]) -> dict[str, SerialOptions]:
    return {d: spec.binding for d, spec in devices.items()
            if isinstance(spec.binding, SerialOptions)}


def serial_problems(devices: Mapping[str, _Spec], ports: Mapping[str, SerialPortConfig],
                    other_urls: Mapping[str, str] | None = None) -> list[FieldError]:
    """Ports that exist, one convention per port, no unit or DMX channel used twice, and
    no port opened twice (`other_urls`: what else owns a port, e.g. push_to_talk)."""
    problems: list[FieldError] = []
    convention: dict[str, tuple[str, str]] = {}  # port → (convention, first device)
    units: dict[tuple[str, str, Any], str] = {}
    for device_id, b in serial_bindings(devices).items():
        at = ("devices", device_id, "serial")
        if b.port not in ports:
            known = ", ".join(ports) or "none configured"
            problems.append(FieldError(f"no serial port {b.port!r} in serial_ports "
                                       f"({known})", at=(*at, "port")))
            continue
        kind, first = convention.setdefault(b.port, (str(getattr(b, "convention", "")),
                                                      device_id))
        if kind != getattr(b, "convention", ""):
            problems.append(FieldError(f"port {b.port!r} already speaks {kind} (devices."
                                       f"{first}); one convention per port", at=(*at, "port")))
        field = "channels" if hasattr(b, "channels") else "unit" if hasattr(b, "unit") \
            else "address"
        values = getattr(b, "channels", None) or [getattr(b, field)]
        for value in values:
            other = units.setdefault((b.port, field, value), device_id)
            if other != device_id:
                what = "channel" if field == "channels" else field
                problems.append(FieldError(f"devices.{other} already uses {what} {value} on "
                                           f"port {b.port!r}", at=(*at, field)))
    owners: dict[str, str] = {}
    for name, port in ports.items():
        other = owners.setdefault(port.url, f"serial_ports.{name}")
        if other != f"serial_ports.{name}":
            problems.append(FieldError(f"{other} already opens {port.url}",
                                       at=("serial_ports", name, "url")))
    for where, url in (other_urls or {}).items():
        if url in owners:
            problems.append(FieldError(f"{owners[url]} already opens {url}; a port has one "
                                       "owner", at=(*where.split("."), "url")))
    return problems


def build_ports(devices: Mapping[str, _Spec], ports: Mapping[str, SerialPortConfig]
                ) -> tuple[dict[str, SerialPort], dict[str, SerialPort]]:
    """A SerialPort for every port a device uses, and each serial device's port."""
    built: dict[str, SerialPort] = {}
    by_device: dict[str, SerialPort] = {}
    for device_id, b in serial_bindings(devices).items():
        port = built.get(b.port)
        if port is None:
            codec = codec_class(str(getattr(b, "convention")))  # noqa: B009
            if not issubclass(codec, SerialCodec):
                raise TypeError(f"{codec.__name__} is not a serial codec")
            port = built[b.port] = SerialPort(b.port, ports[b.port].settings(),
                                              codec.make_framing())
        by_device[device_id] = port
    return built, by_device


class SerialSite:
    """A site's serial ports: one SerialPort per port its devices use, started and closed
    with the daemon; devices that never push are polled by their port."""

    def __init__(self, devices: Mapping[str, _Spec], ports: Mapping[str, SerialPortConfig]
                 ) -> None:
        self.ports, self.transports = build_ports(devices, ports)

    def attach(self, devices: Mapping[str, Device]) -> None:
        """Register the pollers, once the registry has built the devices."""
        for device_id, port in self.transports.items():
            device = devices[device_id]
            if device.codec.query():
                port.add_poller(device.refresh)

    async def start(self) -> None:
        for port in self.ports.values():
            await port.start()

    async def stop(self) -> None:
        for port in reversed(list(self.ports.values())):
            await port.close()
