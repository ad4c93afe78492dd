"""Zigbee2MQTT devices as seen on MQTT: a light, a plug, a thermostat, a button and a sensor.

Each plays what Zigbee2MQTT does for one device (zigbee2mqtt.io, guide/usage/
mqtt_topics_and_messages): a /set is applied and the whole new state is published on
<base>/<name>; a /get republishes it; availability is retained on <base>/<name>/availability,
in the 2.x JSON form, or the 1.x plain form with `legacy=True`. The wire mapping is the one
devices/conventions/zigbee2mqtt.py uses on the controller's side.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from devices.conventions.zigbee2mqtt import (
    Zigbee2MqttOptions,
    availability_payload,
    from_wire,
    load_json,
    to_wire,
    vendor_action,
)
from devices.errors import DecodeError
from devices.model import (
    BRIGHTNESS,
    BUTTON_ACTIONS,
    FAN,
    MODE,
    POWER,
    SETPOINT,
    Kind,
    Message,
    StateValue,
)
from simulators.base import SimulatedDevice

# Link quality Zigbee2MQTT adds to every state message (0-255); any plausible value will do.
LINKQUALITY = 120


class Zigbee2MqttDevice(SimulatedDevice):
    """One device behind Zigbee2MQTT; subclasses fix the kind and the initial state."""

    kind: Kind = "switch"
    initial: Mapping[str, StateValue] = {POWER: False}

    def __init__(
        self,
        device_id: str,
        options: Zigbee2MqttOptions,
        *,
        host: str,
        port: int,
        topic_prefix: str = "",
        state: dict[str, StateValue] | None = None,
        legacy: bool = False,
    ) -> None:
        """`legacy`: behave like Zigbee2MQTT 1.x (plain online/offline availability, and
        button actions also on <name>/action followed by an empty-action reset)."""
        super().__init__(device_id, host=host, port=port, topic_prefix=topic_prefix)
        self.options = options
        self.legacy = legacy
        self.state = {**self.initial, **(state or {})}

    def command_topics(self) -> list[str]:
        # <name>/set/<property> is the documented "without JSON" form of /set.
        o = self.options
        return [o.set_topic, f"{o.set_topic}/+", o.get_topic]

    def state_topics(self) -> list[str]:
        return [self.options.state_topic, self.options.availability_topic]

    def will(self) -> Message:
        return Message(self.options.availability_topic, self._availability(False), retain=True)

    def birth(self) -> list[Message]:
        # With cache_state_send_on_startup (the default) the last state is sent on start.
        online = Message(self.options.availability_topic, self._availability(True), retain=True)
        return [online, self.echo()]

    def handle(self, topic: str, payload: bytes) -> list[Message]:
        o = self.options
        if topic == o.get_topic:
            return [self.echo()]
        if topic.startswith(o.set_topic + "/"):
            command: Any = {topic[len(o.set_topic) + 1 :]: _plain_value(payload)}
        elif topic == o.set_topic:
            try:
                command = load_json(topic, payload)
            except DecodeError:
                return []  # Zigbee2MQTT logs "Invalid JSON" and does nothing
        else:
            return []
        if not isinstance(command, dict):
            return []
        try:
            changes = from_wire(self.kind, self._resolve(command), o, topic)
        except DecodeError:
            return []  # a property with a bad value: logged and not applied
        self.state.update(changes)
        return [self.echo()]

    async def change_locally(self, state: dict[str, StateValue]) -> None:
        """Someone used the device by hand: Zigbee2MQTT reports the new state."""
        self.state.update(state)
        await self.publish_all([self.echo()])

    def echo(self) -> Message:
        """The state message Zigbee2MQTT publishes for this device (not retained by default)."""
        body = {**to_wire(self.kind, self.reported(), self.options), **self.extras()}
        return Message(self.options.state_topic, json.dumps(body).encode())

    def extras(self) -> dict[str, object]:
        """Properties vipctl does not use but Zigbee2MQTT always sends."""
        return {"linkquality": LINKQUALITY}

    def _availability(self, online: bool) -> bytes:
        return availability_payload(online, legacy=self.legacy)

    def _resolve(self, command: dict[str, Any]) -> dict[str, Any]:
        """Apply what a real device derives: TOGGLE, and a light lit by a brightness."""
        out = dict(command)
        if isinstance(out.get("state"), str) and out["state"].upper() == "TOGGLE":
            out["state"] = "OFF" if self.state.get(POWER) else "ON"
        return out


class Light(Zigbee2MqttDevice):
    kind: Kind = "light"
    initial: Mapping[str, StateValue] = {POWER: False, BRIGHTNESS: 100}

    def _resolve(self, command: dict[str, Any]) -> dict[str, Any]:
        out = super()._resolve(command)
        level = out.get("brightness")
        if "state" not in out and isinstance(level, int | float) and not isinstance(level, bool):
            out["state"] = "ON" if level > 0 else "OFF"  # a level command switches on/off too
        if level == 0 and not isinstance(level, bool):
            del out["brightness"]  # off at level 0 keeps the last level, as bulbs do
        return out

    def extras(self) -> dict[str, object]:
        return {**super().extras(), "color_temp": 325, "color_mode": "color_temp"}


class Plug(Zigbee2MqttDevice):
    kind: Kind = "switch"


class Thermostat(Zigbee2MqttDevice):
    kind: Kind = "climate"
    initial: Mapping[str, StateValue] = {POWER: False, MODE: "off", SETPOINT: 24.0}

    def __init__(self, device_id: str, options: Zigbee2MqttOptions, **kwargs: Any) -> None:
        super().__init__(device_id, options, **kwargs)
        if options.fan_mode:
            self.state.setdefault(FAN, "auto")

    def extras(self) -> dict[str, object]:
        running = "idle" if not self.state.get(POWER) else str(self.state.get(MODE, "idle"))
        return {**super().extras(), "local_temperature": 26.5, "running_state": running}


class Button(Zigbee2MqttDevice):
    kind: Kind = "button"
    initial: Mapping[str, StateValue] = {}

    def command_topics(self) -> list[str]:
        return []  # a sleeping battery device: nothing to set or get

    def state_topics(self) -> list[str]:
        return [*super().state_topics(), self.options.action_topic]

    def handle(self, topic: str, payload: bytes) -> list[Message]:
        return []

    def extras(self) -> dict[str, object]:
        return {**super().extras(), "battery": 100, "voltage": 3000}

    async def press(self, action: str) -> None:
        """Press the button: Zigbee2MQTT publishes {"action": <vendor name>} on the state topic."""
        if action not in BUTTON_ACTIONS:
            raise ValueError(f"{action!r} is not one of {BUTTON_ACTIONS}")
        name = vendor_action(action, self.options)
        o = self.options
        messages = [Message(o.state_topic, json.dumps({"action": name, **self.extras()}).encode())]
        if self.legacy:
            # 1.x: the action sensor topic, then the empty action that resets HA's sensor.
            messages.append(Message(o.action_topic, name.encode()))
            messages.append(
                Message(o.state_topic, json.dumps({"action": "", **self.extras()}).encode())
            )
        await self.publish_all(messages)


class Sensor(Zigbee2MqttDevice):
    """A battery sensor (rain, temperature and humidity, occupancy, water leak): it reports
    when a reading changes and cannot be read with /get. Its knobs: `set_reading` (rain on,
    29.5 °C), go_offline (Zigbee2MQTT marks it offline), and `faults.ignore_commands`, which
    here mutes it (readings change, nothing is reported: a flat battery)."""

    kind: Kind = "sensor"
    initial: Mapping[str, StateValue] = {}

    def command_topics(self) -> list[str]:
        return []

    def handle(self, topic: str, payload: bytes) -> list[Message]:
        return []

    def extras(self) -> dict[str, object]:
        return {**super().extras(), "battery": 97, "voltage": 2900}

    def echo(self) -> Message:
        """Retained, as the device option `retain: true` makes Zigbee2MQTT publish it: a sensor
        cannot be asked, and a daemon started after its last report still has the reading."""
        message = super().echo()
        return Message(message.topic, message.payload, retain=True)

    async def set_reading(self, **readings: StateValue) -> None:
        """The weather or the room changed: report it, unless muted."""
        self.state.update(readings)
        if not self.faults.ignore_commands:
            await self.publish_all([self.echo()])


_CLASSES: dict[Kind, type[Zigbee2MqttDevice]] = {
    "light": Light,
    "switch": Plug,
    "climate": Thermostat,
    "button": Button,
    "sensor": Sensor,
}


def make(
    device_id: str,
    kind: Kind,
    options: Zigbee2MqttOptions,
    *,
    host: str,
    port: int,
    topic_prefix: str = "",
    state: dict[str, StateValue] | None = None,
    legacy: bool = False,
) -> Zigbee2MqttDevice:
    """The simulator for one Zigbee2MQTT device of `kind`."""
    if kind not in _CLASSES:
        raise ValueError(f"Zigbee2MQTT simulators have no {kind!r}")
    return _CLASSES[kind](
        device_id,
        options,
        host=host,
        port=port,
        topic_prefix=topic_prefix,
        state=state,
        legacy=legacy,
    )


def _plain_value(payload: bytes) -> Any:
    """A /set/<property> payload: ON, 127, 21.5 ... (JSON where it parses, else the text)."""
    text = payload.decode("utf-8", errors="replace").strip()
    try:
        return json.loads(text)
    except ValueError:
        return text
