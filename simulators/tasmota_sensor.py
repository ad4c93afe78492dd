"""A simulated Tasmota with sensors: a temperature/humidity probe, and a rain sensor's contact
on a switch input. It sends tele/<topic>/SENSOR when a reading changes (a real one also every
TelePeriod) and answers `Status 10` on stat/<topic>/STATUS10, through the helpers of
devices/conventions/tasmota_sensor.py."""

from __future__ import annotations

from typing import Any, ClassVar

from devices.conventions.tasmota import TasmotaOptions, dumps
from devices.conventions.tasmota_sensor import (
    STATUS_KEY,
    STATUS_REPLY,
    STATUS_SENSORS,
    sensor_json,
)
from devices.model import Kind, Message, StateValue
from simulators.tasmota import TasmotaDevice


class TasmotaSensor(TasmotaDevice):
    """Its knobs: `set_reading` (rain on, 29.5 °C), go_offline (the LWT fires), and
    `faults.ignore_commands`, which mutes it: no telemetry, no answer to `Status 10`."""

    kind: ClassVar[Kind] = "sensor"

    def sensor_body(self) -> dict[str, Any]:
        return sensor_json(self.reported(), sensor=self.options.sensor,
                           rain_switch=self.options.rain_switch)

    def telemetry(self) -> Message:
        return Message(self.topic("tele", "SENSOR"),
                       dumps({"Time": self.state_json()["Time"], **self.sensor_body()}))

    def birth(self) -> list[Message]:
        return [*super().birth(), self.telemetry()]

    def command(self, command: str, text: str) -> list[Message] | None:
        if command != "STATUS":
            return None
        if text != STATUS_SENSORS:
            return [self.result({"Command": "Unknown"})]  # other Status pages: not modelled
        body = {STATUS_KEY: {"Time": self.state_json()["Time"], **self.sensor_body()}}
        return [Message(self.topic("stat", STATUS_REPLY), dumps(body))]

    async def set_reading(self, **readings: StateValue) -> None:
        """The weather or the room changed: the next telemetry says so, unless muted."""
        self.state.update(readings)
        if not self.faults.ignore_commands:
            await self.publish_all([self.telemetry()])


def make(device_id: str, kind: Kind, options: TasmotaOptions, *, host: str, port: int,
         topic_prefix: str = "", state: dict[str, StateValue] | None = None) -> TasmotaSensor:
    if kind != "sensor":
        raise ValueError(f"{device_id}: simulators.tasmota_sensor plays sensors, not a {kind}")
    return TasmotaSensor(device_id, options, host=host, port=port, topic_prefix=topic_prefix,
                         state=state)
