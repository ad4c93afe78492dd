"""Home Assistant's MQTT discovery for one site, as pure functions: topics and payloads.

Home Assistant (2024.3 and later) makes an entity of every retained JSON object on
`<prefix>/<component>/<node_id>/<object_id>/config`, and forgets it when that topic gets
an empty retained message. Every entity here carries the same `device` block, so they
show as one device, "vipctl <site name>":

  entity                                  component      topic (under vipctl/<site>/ha/)
  Arrival, Show flat, Departure, VIP now  button         press/<trigger>: "PRESS" from HA
  Current guest, Visit status,            sensor         state: one retained JSON object,
  Next visit, Minutes to next visit,                     a value_template each
  Devices in trouble
  VIP visit engaged                       binary_sensor  state: "ON" while a guest is here
  Announcement                            event          announcement: one message per
                                                         announcement played

Their availability is vipctl's own status topic (mqtt.status_topic: retained "online",
and "offline" as its last will). The vipctl/<site>/ha/ topics carry the site's
mqtt.topic_prefix like every vipctl topic; the discovery prefix never does (it is Home
Assistant's). The conventions are Home Assistant's MQTT integration
(components/mqtt/abbreviations.py, button.py, sensor.py, binary_sensor.py, event.py); the
payloads are checked against its own schemas (tests/homeassistant/).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from controller.link.wire import Summary
from controller.store.visits import VisitStatus
from devices.model import prefixed

# The command topics' payload (Home Assistant's default payload_press).
PRESS = "PRESS"
# The triggers Home Assistant may press, with their names and icons; no other command is
# taken from Home Assistant's topics.
BUTTONS: dict[str, tuple[str, str]] = {
    "arrival": ("Arrival", "mdi:account-arrow-right"),
    "show_flat": ("Show flat", "mdi:home-city"),
    "departure": ("Departure", "mdi:account-arrow-left"),
    "vip_now": ("VIP now", "mdi:star-circle"),
}
ENGAGED = frozenset({VisitStatus.ARRIVED, VisitStatus.AT_SHOW_FLAT})
IDLE = "idle"  # the status sensor between visits
# An announcement of a step the scene does not name (an alert's, say) fires as this type.
OTHER = "other"
# Home Assistant's MQTT default; vipctl's state and events are QoS 1 too.
QOS = 1


@dataclass(frozen=True, slots=True)
class HaSite:
    """What the payloads of one site are made of."""

    site_id: str
    name: str
    prefix: str  # Home Assistant's discovery prefix
    status_topic: str  # vipctl's status, on the wire (topic_prefix included)
    topic_prefix: str = ""
    version: str = "0"
    announcement_types: tuple[str, ...] = ()  # the scene's steps that announce

    @property
    def node_id(self) -> str:
        return f"vipctl_{self.site_id}"

    @property
    def base(self) -> str:
        return prefixed(self.topic_prefix, f"vipctl/{self.site_id}/ha")

    @property
    def state_topic(self) -> str:
        return f"{self.base}/state"

    @property
    def announcement_topic(self) -> str:
        return f"{self.base}/announcement"

    @property
    def birth_topic(self) -> str:
        """Home Assistant says "online" here when it (re)starts: configs are sent again."""
        return f"{self.prefix}/status"

    @property
    def own_configs(self) -> str:
        """The filter that matches every config this site may ever have published."""
        return f"{self.prefix}/+/{self.node_id}/+/config"

    def press_topic(self, trigger: str) -> str:
        return f"{self.base}/press/{trigger}"

    def trigger_of(self, topic: str) -> str | None:
        """The trigger a press topic stands for (None: not one of the buttons')."""
        head, _, trigger = topic.rpartition("/")
        return trigger if head == f"{self.base}/press" and trigger in BUTTONS else None

    def config_topic(self, component: str, object_id: str) -> str:
        return f"{self.prefix}/{component}/{self.node_id}/{object_id}/config"


def _common(site: HaSite, object_id: str, name: str) -> dict[str, Any]:
    return {
        "name": name,
        "unique_id": f"{site.node_id}_{object_id}",
        # The entity id: button.vipctl_<site>_arrival, whatever the site's name.
        "object_id": f"{site.node_id}_{object_id}",
        "device": {
            "identifiers": [site.node_id],
            "name": f"vipctl {site.name}",
            "manufacturer": "vipctl",
            "model": "VIP reception",
            "sw_version": site.version,
        },
        "origin": {"name": "vipctl", "sw_version": site.version},
        "availability": [{"topic": site.status_topic, "payload_available": "online",
                          "payload_not_available": "offline"}],
        "qos": QOS,
    }


def _reads_state(site: HaSite, field: str, **extra: Any) -> dict[str, Any]:
    return {"state_topic": site.state_topic, "value_template": f"{{{{ value_json.{field} }}}}",
            **extra}


def configs(site: HaSite) -> dict[str, dict[str, Any]]:
    """Every entity's config, by its discovery topic."""
    out: dict[str, dict[str, Any]] = {}

    def add(component: str, object_id: str, name: str, **fields: Any) -> dict[str, Any]:
        config = out[site.config_topic(component, object_id)] = {
            **_common(site, object_id, name), **fields}
        return config

    for trigger, (name, icon) in BUTTONS.items():
        add("button", trigger, name, command_topic=site.press_topic(trigger),
            payload_press=PRESS, retain=False, icon=icon)
    # Between visits the guest is "" (HA 2024.3 shows a text sensor's "None" as the word).
    add("sensor", "guest", "Current guest", icon="mdi:account-star",
        json_attributes_topic=site.state_topic,
        json_attributes_template="{{ value_json.visit | tojson }}",
        state_topic=site.state_topic, value_template="{{ value_json.guest or '' }}")
    # No device_class "enum" with its options: Home Assistant's MQTT sensor takes options
    # only from 2024.4 on (2024.3's schema drops them).
    add("sensor", "status", "Visit status", icon="mdi:account-clock",
        **_reads_state(site, "status"))
    # A timestamp sensor takes no "None" (HA logs it as invalid, every time): with no visit
    # booked it is unavailable instead, by a second availability on the state.
    next_start = add("sensor", "next_start", "Next visit", device_class="timestamp",
                     json_attributes_topic=site.state_topic,
                     json_attributes_template="{{ value_json.next | tojson }}",
                     **_reads_state(site, "next_start"))
    next_start["availability_mode"] = "all"
    next_start["availability"] = [*next_start["availability"], {
        "topic": site.state_topic, "payload_available": "online",
        "payload_not_available": "offline",
        "value_template": "{{ 'online' if value_json.next_start else 'offline' }}"}]
    add("sensor", "minutes_to_next", "Minutes to next visit", device_class="duration",
        unit_of_measurement="min", **_reads_state(site, "minutes_to_next"))
    add("sensor", "device_problems", "Devices in trouble", icon="mdi:alert-circle",
        state_class="measurement", json_attributes_topic=site.state_topic,
        json_attributes_template="{{ value_json.devices | tojson }}",
        **_reads_state(site, "device_problems"))
    add("binary_sensor", "engaged", "VIP visit engaged", device_class="occupancy",
        payload_on="ON", payload_off="OFF", **_reads_state(site, "engaged"))
    add("event", "announcement", "Announcement", state_topic=site.announcement_topic,
        event_types=[*dict.fromkeys([*site.announcement_types, OTHER])], icon="mdi:bullhorn")
    return out


def state(summary: Summary, now: datetime) -> dict[str, Any]:
    """The one state object every sensor reads (each through its value_template)."""
    current = summary.current
    coming = summary.next[0] if summary.next else None
    minutes = None
    if coming is not None:
        minutes = max(0, math.floor((coming.start - now).total_seconds() / 60))
    devices: dict[str, list[str]] = {}  # a device both offline and failed is one device
    for problem in summary.devices_in_trouble:
        said = problem.problem if problem.message is None else \
            f"{problem.problem}: {problem.message}"
        devices.setdefault(problem.device_id, []).append(said)
    return {
        "guest": None if current is None else current.salutation,
        "status": IDLE if current is None else current.status.value,
        "visit": {} if current is None else {
            "id": current.id, "start": current.start.isoformat(),
            "end": current.end.isoformat(), "party_size": current.party_size},
        "engaged": "ON" if current is not None and current.status in ENGAGED else "OFF",
        "next_start": None if coming is None else coming.start.isoformat(),
        "next": {} if coming is None else {"id": coming.id, "guest": coming.salutation},
        "minutes_to_next": minutes,
        "device_problems": len(devices),
        "devices": {device: "; ".join(said) for device, said in devices.items()},
    }


def announcement(site: HaSite, detail: dict[str, Any]) -> dict[str, Any]:
    """The event for one announcement played (an `announcement` event's detail)."""
    step = str(detail.get("step") or "")
    return {"event_type": step if step in site.announcement_types else OTHER,
            "step": step, "text": detail.get("text"), "id": detail.get("id")}
