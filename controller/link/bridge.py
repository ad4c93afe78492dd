"""The Mosquitto bridge that carries a site's link to head office, as configuration text.

`vipctl bridge-config` prints it: a `connection` section for the site broker's
mosquitto.conf (mosquitto.conf(5), "Configuring bridges"), then the ACL lines for the
head-office broker and for the site broker. The site broker's bridge connects out to head
office, so a site behind NAT needs no open port. With `cleansession false` head office's
broker keeps the bridge's subscription to the booking requests while the link is down and
queues them; the site broker queues what goes out (up to its max_queued_messages).
Mosquitto's acl_file never binds a bridge configured on the broker itself (its default
check passes them), so on the site broker "only the bridge writes the booking requests"
means: no login is given that right, not even the bridge's local_username (a client that
logged in with it would be bound by the file).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from controller.link.wire import (
    events_topic,
    link_topic,
    reply_topic,
    request_topic,
    summary_topic,
)

MQTT_PORT, MQTTS_PORT = 1883, 8883
# The bridge tries again after a lost link: decorrelated jitter from BASE to CAP seconds
# (Mosquitto's restart_timeout base cap), quick enough that a short outage ends quickly.
RESTART_BASE_S, RESTART_CAP_S = 2, 30
KEEPALIVE_S = 30
QOS = 1
# The site broker's user that the ACL names for the bridge (its local_username).
LOCAL_USER = "bridge"


class BridgeConfigError(ValueError):
    """A value the bridge section cannot take (says which)."""


@dataclass(frozen=True, slots=True)
class HeadOffice:
    host: str
    port: int
    tls: bool

    @classmethod
    def parse(cls, url: str) -> HeadOffice:
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts"):
            raise BridgeConfigError(f"--hq: the scheme must be mqtt:// or mqtts:// (got {url!r})")
        if not parts.hostname:
            raise BridgeConfigError(f"--hq: no host in {url!r} (mqtts://host[:port])")
        if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
            raise BridgeConfigError(f"--hq: only mqtt[s]://host[:port] (got {url!r})")
        tls = parts.scheme == "mqtts"
        try:
            port = parts.port or (MQTTS_PORT if tls else MQTT_PORT)
        except ValueError:
            raise BridgeConfigError(f"--hq: a bad port in {url!r}") from None
        return cls(parts.hostname, port, tls)


@dataclass(frozen=True, slots=True)
class Bridge:
    site_id: str
    hq: HeadOffice
    name: str  # the connection's name, and its client id at head office
    local_prefix: str = ""  # the site file's mqtt.topic_prefix
    user: str | None = None  # the site's login at head office
    password: str | None = None  # printed only when the caller was given one to print
    cafile: Path | None = None

    def __post_init__(self) -> None:
        if self.cafile is not None and not self.hq.tls:
            raise BridgeConfigError("--cafile: only for an mqtts:// head office")
        if self.password is not None and self.user is None:
            raise BridgeConfigError("a password needs --user")
        for value in (self.name, self.user or "", self.password or "", str(self.cafile or "")):
            if any(c.isspace() for c in value) or "#" in value[:1]:
                raise BridgeConfigError(f"{value!r} cannot stand in mosquitto.conf")

    def local(self, topic: str) -> str:
        return f"{self.local_prefix}/{topic}" if self.local_prefix else topic

    def topics(self) -> list[tuple[str, str]]:
        """(topic, direction) of every bridged topic, as head office names it."""
        s = self.site_id
        return [(events_topic(s), "out"), (summary_topic(s), "out"), (reply_topic(s), "out"),
                (request_topic(s), "in")]

    def section(self) -> str:
        hq = self.hq
        lines = [
            f"# vipctl bridge-config: site {self.site_id} -> head office {hq.host}:{hq.port}",
            "# Append to the site broker's mosquitto.conf; restart it (bridges are not reloaded).",
            f"connection {self.name}",
            f"address {hq.host}:{hq.port}",
            f"remote_clientid {self.name}",
            f"local_clientid {self.name}.local",
            f"local_username {LOCAL_USER}",
        ]
        if self.user is not None:
            lines.append(f"remote_username {self.user}")
            if self.password is not None:
                lines.append(f"remote_password {self.password}")
            else:
                lines.append("# remote_password ...  (give --password-env VAR to print it here)")
        lines += [
            "# Head office keeps the bridge's subscription and queues the booking requests",
            "# while the link is down; the site broker queues what goes out.",
            "cleansession false",
            "# Retained 1 (up) / 0 (down) on both brokers; head office holds the 0 as a will.",
            "notifications true",
            f"notification_topic {link_topic(self.site_id)}",
            f"keepalive_interval {KEEPALIVE_S}",
            f"restart_timeout {RESTART_BASE_S} {RESTART_CAP_S}",
        ]
        if hq.tls:
            lines.append(f"bridge_cafile {self.cafile}" if self.cafile else
                         "bridge_capath /etc/ssl/certs")
            lines.append("bridge_insecure false")
        local_prefix = f"{self.local_prefix}/" if self.local_prefix else '""'
        for topic, direction in self.topics():
            lines.append(f'topic {topic} {direction} {QOS} {local_prefix} ""')
        return "\n".join(lines) + "\n"

    def hq_acl(self) -> str:
        user = self.user or "SITE_USER"
        s = self.site_id
        return "\n".join([
            f"# Head office's acl_file: the login of site {s}'s bridge.",
            f"user {user}",
            f"topic write {events_topic(s)}",
            f"topic write {summary_topic(s)}",
            f"topic write {reply_topic(s)}",
            f"topic write {link_topic(s)}",
            f"topic read {request_topic(s)}",
        ]) + "\n"

    def site_acl(self) -> str:
        s = self.site_id
        return "\n".join([
            f"# The site broker's acl_file (docs/mosquitto/vipctl.acl) for site {s}. The",
            "# bridge is the broker itself and not bound by the acl_file: it alone writes the",
            "# booking requests because no login may, its own local_username included.",
            "user vipctl",
            f"topic write {self.local(events_topic(s))}",
            f"topic write {self.local(summary_topic(s))}",
            f"topic write {self.local(reply_topic(s))}",
            f"topic read {self.local(request_topic(s))}",
            f"user {LOCAL_USER}",
            f"topic read {self.local(events_topic(s))}",
            f"topic read {self.local(summary_topic(s))}",
            f"topic read {self.local(reply_topic(s))}",
            f"topic readwrite {link_topic(s)}",
            "# With an auth plugin that checks bridges by their local_username, add:",
            f"#topic write {self.local(request_topic(s))}",
        ]) + "\n"

    def text(self) -> str:
        """What the command prints: the section, then both ACLs as comments."""
        acls = "\n".join(f"# {line}" if line and not line.startswith("#") else line
                         for line in (self.hq_acl() + "\n" + self.site_acl()).splitlines())
        return f"{self.section()}\n{acls}\n"
