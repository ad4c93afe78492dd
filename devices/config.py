"""The device part of the site configuration: one entry under `devices:` in the site file.

    hall_lights:
      kind: light
      name: 大厅灯光
      mqtt: {convention: zigbee2mqtt, name: hall_lights}
      command: {confirm_timeout: 2, retries: 3}

Each convention module owns the options of its own block; this module only puts them
together and checks that the combination makes sense (a media convention cannot drive a light).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from common.yamlconf import FieldError
from devices.conventions.coolmaster import CoolMasterOptions
from devices.conventions.dmx import DmxOptions
from devices.conventions.modbus_intesis import IntesisModbusOptions
from devices.conventions.tasmota import TasmotaOptions
from devices.conventions.vipctl_intercom import VipctlIntercomOptions
from devices.conventions.vipctl_media import VipctlMediaOptions
from devices.conventions.zigbee2mqtt import Zigbee2MqttOptions
from devices.local.config import LocalBinding
from devices.model import Kind

# The options of any MQTT convention; which one is chosen by its `convention:` value.
MqttOptions = TasmotaOptions | Zigbee2MqttOptions | VipctlMediaOptions | VipctlIntercomOptions
MqttBinding = Annotated[MqttOptions, Field(discriminator="convention")]
# The options of any serial convention (`serial:`, on a port of the site's serial_ports).
SerialConventionOptions = CoolMasterOptions | IntesisModbusOptions | DmxOptions
SerialBinding = Annotated[SerialConventionOptions, Field(discriminator="convention")]
# Whatever a device is reached through. A serial transport will add its options here.
# `local:` is a player or speaker the daemon runs itself (devices/local/, docs/media.md).
Binding = MqttOptions | LocalBinding | SerialConventionOptions

# The device kinds each convention can drive; anything else is refused at load.
CONVENTION_KINDS: dict[str, frozenset[Kind]] = {
    "tasmota": frozenset({"light", "switch", "climate", "sensor"}),
    "zigbee2mqtt": frozenset({"light", "switch", "climate", "button", "sensor"}),
    "vipctl-media": frozenset({"media"}),
    "vipctl-intercom": frozenset({"intercom"}),
    "coolmaster": frozenset({"climate"}),
    "intesis-modbus": frozenset({"climate"}),
    "dmx": frozenset({"light", "switch"}),
}

# What a sensor of each convention can read (Tasmota's rain: a rain sensor on a switch input).
CONVENTION_READINGS: dict[str, frozenset[str]] = {
    "tasmota": frozenset({"temperature", "humidity", "rain"}),
    "zigbee2mqtt": frozenset({"temperature", "humidity", "rain", "water_leak", "occupancy"}),
}
Reading = Literal["temperature", "humidity", "rain", "water_leak", "occupancy"]

# The transport blocks a device may have; exactly one must be given. A new transport adds its
# field to DeviceConfig and its name here.
TRANSPORTS: tuple[str, ...] = ("mqtt", "local", "serial")

# What a button press can set off in the reception procedure (F1 arrival, F7 show flat,
# F13 departure, an unbooked "VIP now"), and a customer without a booking (P1: walk_in).
Trigger = Literal["arrival", "show_flat", "departure", "vip_now", "walk_in"]
# Button actions as vipctl names them (devices.model.BUTTON_ACTIONS).
ButtonAction = Literal["single", "double", "hold"]

DisplayName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class CommandPolicy(BaseModel):
    """How long to wait for a device to confirm a command, and how to retry.

    Attempt n+1 (n >= 1) waits `backoff * 2**(n-1)` seconds, at most `max_backoff`, before it
    is sent; the runtime adds jitter.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    confirm_timeout: float = Field(default=3.0, gt=0, allow_inf_nan=False)  # seconds
    retries: int = Field(default=2, ge=0)
    backoff: float = Field(default=0.5, ge=0, allow_inf_nan=False)  # seconds before the 1st retry
    max_backoff: float = Field(default=10.0, ge=0, allow_inf_nan=False)  # seconds

    @property
    def attempts(self) -> int:
        return 1 + self.retries

    def delay(self, retry: int) -> float:
        """Seconds to wait before retry number `retry` (1 is the first retry), without jitter."""
        return float(min(self.backoff * 2 ** max(retry - 1, 0), self.max_backoff))

    @model_validator(mode="after")
    def _backoff_fits(self) -> CommandPolicy:
        if self.max_backoff < self.backoff:
            raise FieldError(
                f"must be at least backoff ({self.backoff:g} s)", at=("max_backoff",)
            )
        return self


class DeviceConfig(BaseModel):
    """One device: what it is, how it is reached, and how hard to insist on commands."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Kind
    name: DisplayName | None = None  # shown to staff, e.g. 模型区灯光
    mqtt: MqttBinding | None = None
    local: LocalBinding | None = None  # played by the daemon itself: docs/media.md
    serial: SerialBinding | None = None  # behind a port of the site's serial_ports
    optimistic: bool = False  # assumed state: trust the command, never wait for confirmation
    command: CommandPolicy | None = None  # None: the site's `commands:` policy
    triggers: dict[ButtonAction, Trigger] = Field(default_factory=dict)  # buttons only
    # Intercoms only: media device id → volume (0-100) while this intercom speaks.
    duck: dict[str, Annotated[int, Field(ge=0, le=100)]] = Field(default_factory=dict)
    # Sensors only: what it reads; a scene's `when:` may ask only for these, and a preflight
    # counts the sensor readable once it has reported each of them.
    measures: list[Reading] = Field(default_factory=list)

    @property
    def binding(self) -> Binding:
        """The options of the device's one transport block."""
        binding = self.mqtt or self.local or self.serial
        if binding is None:  # pragma: no cover - the validator makes this impossible
            raise RuntimeError("device has no transport block")
        return binding

    @property
    def transport(self) -> str:
        return next(t for t in TRANSPORTS if getattr(self, t) is not None)

    @property
    def convention(self) -> str:
        return self.binding.convention

    @model_validator(mode="after")
    def _consistent(self) -> DeviceConfig:
        given = [t for t in TRANSPORTS if getattr(self, t) is not None]
        if len(given) != 1:
            names = " or ".join(TRANSPORTS)
            where = f"; got {', '.join(given)}" if given else ""
            raise FieldError(f"needs exactly one transport block ({names}){where}")
        problems: list[FieldError] = []
        binding = self.binding
        drives = CONVENTION_KINDS[binding.convention]
        if self.kind not in drives:
            problems.append(FieldError(
                f"{binding.convention!r} cannot drive a {self.kind}"
                f" (it drives: {', '.join(sorted(drives))})",
                at=(self.transport, "convention"),
            ))
        if isinstance(binding, TasmotaOptions):
            at = (self.transport, "irhvac_vendor")
            if self.kind == "climate" and not binding.irhvac_vendor:
                problems.append(FieldError("required for a climate device behind an IR blaster",
                                           at=at))
            if self.kind != "climate" and binding.irhvac_vendor:
                problems.append(FieldError("only for a climate device", at=at))
        if self.triggers and self.kind != "button":
            problems.append(FieldError(f"only a button has triggers; this is a {self.kind}",
                                       at=("triggers",)))
        problems += self._sensor_problems(binding)
        if self.duck and self.kind != "intercom":
            problems.append(FieldError(f"only an intercom ducks the music; this is a {self.kind}",
                                       at=("duck",)))
        if problems:
            raise FieldError.many(problems)
        return self

    def _sensor_problems(self, binding: Binding) -> list[FieldError]:
        if self.kind != "sensor":
            return [FieldError(f"only a sensor measures; this is a {self.kind}",
                               at=("measures",))] if self.measures else []
        if not self.measures:
            return [FieldError("say what the sensor reads: one or more of "
                               "temperature, humidity, rain, water_leak, occupancy",
                               at=("measures",))]
        can = CONVENTION_READINGS.get(binding.convention, frozenset())
        problems = [FieldError(f"a {binding.convention} sensor cannot read {name} "
                               f"(it reads: {', '.join(sorted(can))})", at=("measures", i))
                    for i, name in enumerate(self.measures) if name not in can]
        if isinstance(binding, TasmotaOptions) and "rain" in self.measures \
                and not binding.rain_switch:
            problems.append(FieldError("a Tasmota reads rain from a switch input: name it "
                                       "(e.g. Switch1)", at=(self.transport, "rain_switch")))
        return problems
