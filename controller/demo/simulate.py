"""`vipctl simulate`: a simulator for every device of a site, and how to poke each one.

The example commands come from each device's own codec (the same one the daemon uses), so
the table can never disagree with what vipctl itself would send. Serial devices get a
simulated gateway or widget per port, on a pseudo-terminal whose path is printed to put in
the site file (or on the site file's own socket:// port when it is on this machine).
"""

from __future__ import annotations

import asyncio
import shlex
import tempfile
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from controller.config.site import SiteConfig
from devices.conventions.base import IntercomCodec
from devices.conventions.registry import make_codec
from devices.model import Announcement, Kind, Message, State, prefixed
from simulators.serial_site import SerialPoke, SerialSimulators
from simulators.site import SiteSimulators

# A command worth trying on each kind: the state the reception scene itself asks for.
EXAMPLES: dict[Kind, State] = {
    "light": {"power": True},
    "switch": {"power": True},
    "climate": {"power": True, "mode": "cool", "setpoint": 24},
    "media": {"power": True, "playback": "playing"},
}
# What to say through a simulated intercom ("this is a test announcement").
EXAMPLE_ANNOUNCEMENT = Announcement("try-1", "这是一条测试广播")
# The broker address mosquitto_pub and mosquitto_sub use when given no -h/-p.
CLIENT_DEFAULT = ("localhost", 1883)


@dataclass(frozen=True, slots=True)
class Poke:
    device_id: str
    kind: str
    convention: str
    command: str  # a mosquitto_pub line, or "" for a device that only reports (a button)
    reports_on: str  # topic filters to watch with mosquitto_sub


def broker_flags(host: str, port: int) -> str:
    if (host, port) in (CLIENT_DEFAULT, ("127.0.0.1", 1883)):
        return ""
    return f"-h {shlex.quote(host)} -p {port} "


def watch_filters(topics: list[str]) -> list[str]:
    """Few filters covering a device's topics: `<common>/#`, else one `<parent>/+` each."""
    if not topics:
        return []
    split = [t.split("/") for t in topics]
    common: list[str] = []
    for levels in zip(*split, strict=False):
        if len(set(levels)) != 1:
            break
        common.append(levels[0])
    if common:
        return ["/".join([*common, "#"])]
    parents = dict.fromkeys("/".join([*s[:-1], "+"]) if len(s) > 1 else s[0] for s in split)
    return list(parents)


def pokes(site: SiteConfig, *, host: str, port: int, prefix: str = "") -> list[Poke]:
    flags = broker_flags(host, port)
    out: list[Poke] = []
    for device_id, spec in site.devices.items():
        if spec.mqtt is None:
            continue  # on a serial port (render_serial) or played in-process
        codec = make_codec(device_id, spec.kind, spec.binding)
        messages: list[Message] = []
        if isinstance(codec, IntercomCodec):
            messages = codec.announce(EXAMPLE_ANNOUNCEMENT)
        elif spec.kind in EXAMPLES:
            messages = codec.encode(EXAMPLES[spec.kind])
        command = " ; ".join(
            f"mosquitto_pub {flags}-t {shlex.quote(prefixed(prefix, m.topic))} "
            f"-m {shlex.quote(m.payload.decode())}" for m in messages)
        watched = [prefixed(prefix, f) for f in watch_filters(codec.subscriptions())]
        out.append(Poke(device_id, spec.kind, spec.convention, command, " ".join(watched)))
    return out


def render_pokes(site: SiteConfig, items: list[Poke], *, host: str, port: int, prefix: str,
                 console: Console) -> None:
    console.print(f"[bold]{escape(site.site.name)}[/bold]: {len(items)} simulated devices "
                  f"on mqtt://{escape(host)}:{port}"
                  + (f", under the topic prefix {escape(prefix)}/" if prefix else ""))
    table = Table(show_lines=False)
    for column in ("device", "kind", "convention", "try", "reports on"):
        table.add_column(column, overflow="fold", no_wrap=column == "device")
    for p in items:
        command = p.command or "(nothing to send: it publishes its action when pressed)"
        table.add_row(p.device_id, p.kind, p.convention, escape(command), escape(p.reports_on))
    console.print(table)
    everything = shlex.quote(prefixed(prefix, "#"))
    console.print(f"watch everything: mosquitto_sub {broker_flags(host, port)}-v -t {everything}")


def render_serial(items: list[SerialPoke], console: Console) -> None:
    table = Table(title=f"{len(items)} simulated serial port{'s' if len(items) != 1 else ''}")
    for column in ("port", "convention", "devices", "url to use", "try"):
        table.add_column(column, overflow="fold", no_wrap=column == "port")
    for p in items:
        url = p.url if p.url == p.configured else f"{p.url} (the file says {p.configured})"
        table.add_row(p.port, p.convention, escape(p.devices), escape(url),
                      escape(p.try_it or "(binary: run vipctl against it)"))
    console.print(table)
    for p in items:
        if p.url != p.configured:
            console.print(f"serial_ports.{p.port}.url: {escape(p.url)}")


async def simulate(site: SiteConfig, *, host: str, port: int, prefix: str,
                   console: Console, stop: asyncio.Event) -> None:
    """Run every device's simulator until `stop` is set."""
    on_mqtt = {d: spec for d, spec in site.devices.items() if spec.mqtt is not None}
    sims = SiteSimulators(on_mqtt, host=host, port=port, topic_prefix=prefix)
    with tempfile.TemporaryDirectory(prefix="vipctl-sim-") as workdir:
        serial = SerialSimulators(site.devices, site.serial_ports, Path(workdir))
        try:
            await serial.start()
            await sims.start()  # raises TimeoutError when the broker does not let them in
            render_pokes(site, pokes(site, host=host, port=port, prefix=prefix), host=host,
                         port=port, prefix=prefix, console=console)
            if serial.sims:
                render_serial(serial.pokes(), console)
            console.print("Ctrl-C stops the simulators.")
            await stop.wait()
        finally:
            await sims.stop()  # those that did start, too
            await serial.stop()
