"""What `vipctl check-config` prints for a site file that loads: the site, devices and groups."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from controller.config.site import SiteConfig
from devices.config import CommandPolicy, DeviceConfig
from devices.conventions.registry import make_codec


def render_site(config: SiteConfig, console: Console) -> None:
    mqtt = config.mqtt
    host, port, tls = mqtt.connection
    console.print(f"[bold]{escape(config.site.name)}[/bold] ({escape(config.site.timezone)})")
    console.print(f"broker: {escape(host)}:{port}{' (TLS)' if tls else ''}"
                  f", client id {escape(mqtt.client_id)}, {_credentials(config)}")
    if mqtt.topic_prefix:
        console.print(f"topic prefix: {escape(mqtt.topic_prefix)}")
    console.print(f"status topic: {escape(mqtt.status_topic)}")
    console.print(f"database: {escape(config.database.display_url)}")
    console.print(f"commands: {_policy(config.commands)}")

    devices = Table(title=_count(len(config.devices), "device"))
    for column in ("id", "name", "kind", "convention", "address", "confirmation"):
        devices.add_column(column, no_wrap=column == "id", overflow="fold")
    for device_id, device in config.devices.items():
        confirmation = _confirmation(config, device_id, device)
        devices.add_row(device_id, escape(device.name or ""), device.kind, device.convention,
                        escape(device.binding.wire_address().text), escape(confirmation))
    console.print(devices)

    if config.serial_ports:
        ports = Table(title=_count(len(config.serial_ports), "serial port"))
        for column in ("port", "url", "line", "reply timeout", "poll"):
            ports.add_column(column, no_wrap=column == "port", overflow="fold")
        for name, line in config.serial_ports.items():
            ports.add_row(name, escape(line.url),
                          f"{line.baudrate} {line.bytesize}{line.parity}{line.stopbits:g}",
                          f"{line.reply_timeout:g} s", f"every {line.poll_interval:g} s")
        console.print(ports)

    if config.groups:
        groups = Table(title=_count(len(config.groups), "group"))
        groups.add_column("group", no_wrap=True)
        groups.add_column("members", overflow="fold")
        for name, members in config.groups.items():
            groups.add_row(name, ", ".join(members))
        console.print(groups)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _credentials(config: SiteConfig) -> str:
    # Say where the secrets come from, never what they are.
    mqtt = config.mqtt
    if mqtt.username is None:
        return "anonymous"
    source = f"${mqtt.password_env}" if mqtt.password_env else "the file"
    password = f", password from {source}" if mqtt.password is not None else ", no password"
    user = f"${mqtt.username_env}" if mqtt.username_env else "set in the file"
    return f"user {user}{password}"


def _policy(policy: CommandPolicy) -> str:
    return (f"confirm within {policy.confirm_timeout:g} s, {policy.attempts} attempts, "
            f"backoff {policy.backoff:g}-{policy.max_backoff:g} s")


def _confirmation(config: SiteConfig, device_id: str, device: DeviceConfig) -> str:
    if device.kind == "button":
        actions = ", ".join(f"{a}→{t}" for a, t in device.triggers.items())
        return f"events: {actions}" if actions else "events"
    if device.optimistic or not make_codec(device_id, device.kind, device.binding).can_report:
        return "assumed state"
    policy = config.policy_for(device_id)
    own = "" if device.command is None else " (own)"
    return f"{policy.confirm_timeout:g} s × {policy.attempts}{own}"
