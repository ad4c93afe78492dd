"""Air conditioners behind an Intesis-style Modbus RTU gateway (holding registers).

Intesis INMBSDAI001I000 User's Manual r2.3, 4.2.1 "Control and status registers" (all 16-bit
unsigned holding registers, protocol addresses):

    0  on/off      0 off, 1 on
    1  mode        0 auto, 1 heat, 2 dry, 3 fan, 4 cool
    2  fan speed   0 auto, 1 low ... n high (n: register 21, "max number of fan speeds")
    3  vane        (not used by vipctl)
    4  setpoint    degrees Celsius x 10 by default (x 1 configurable); -32768 until known

Every write is one function 06 request (the gateway echoes it); the state is read back with
one function 03 request of registers 0-4, which is also how a command is confirmed.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from devices.conventions.base import is_finite_number
from devices.conventions.modbus_rtu import (
    ModbusRtuFraming,
    check_write_echo,
    read_holding,
    read_registers,
    to_signed,
    write_register,
)
from devices.conventions.serial_base import (
    Framing,
    SerialCodec,
    SerialOptions,
    is_link_topic,
    link_state,
)
from devices.errors import DecodeError, UnsupportedCommand
from devices.model import (
    FAN,
    FAN_SPEEDS,
    MODE,
    POWER,
    SETPOINT,
    Kind,
    Message,
    State,
    StateValue,
    Update,
)

REG_ONOFF, REG_MODE, REG_FAN, REG_SETPOINT = 0, 1, 2, 4
# Registers 0-4 are read in one request.
STATUS_COUNT = 5
# The setpoint register's value until the unit has told the gateway (manual 4.2.1).
SETPOINT_UNKNOWN = -32768
MODE_VALUES = {"auto": 0, "heat": 1, "dry": 2, "fan_only": 3, "cool": 4}
MODES_BY_VALUE = {v: k for k, v in MODE_VALUES.items()}


class IntesisModbusOptions(SerialOptions):
    """`serial: {convention: intesis-modbus, port: rs485, address: 1}`"""

    convention: Literal["intesis-modbus"]
    address: int = Field(ge=1, le=247)  # the gateway's Modbus slave address (1-63 on Intesis)
    fan_speeds: int = Field(default=3, ge=2, le=9)  # register 21 of the gateway
    setpoint_scale: Literal[1, 10] = 10  # register 4 in degrees x 10 (default) or x 1

    def where(self) -> str:
        return f"{self.port} address {self.address}"


def fan_value(speed: str, speeds: int) -> int | None:
    """vipctl's fan speed as a register value (None: the unit has no such speed)."""
    values = {"auto": 0, "low": 1, "medium": (speeds + 1) // 2, "high": speeds}
    value = values[speed]
    return None if speed == "medium" and value in (1, speeds) else value


def fan_speed(value: int, speeds: int) -> str | None:
    if value == 0:
        return "auto"
    if value == 1:
        return "low"
    if value == speeds:
        return "high"
    return "medium" if 1 < value < speeds else None


def registers_to_state(registers: list[int], options: IntesisModbusOptions
                       ) -> dict[str, StateValue]:
    """Registers 0-4 as vipctl state (values with no vipctl name are left out)."""
    state: dict[str, StateValue] = {POWER: registers[REG_ONOFF] != 0}
    mode = MODES_BY_VALUE.get(registers[REG_MODE])
    if mode is not None:
        state[MODE] = mode
    fan = fan_speed(registers[REG_FAN], options.fan_speeds)
    if fan is not None:
        state[FAN] = fan
    setpoint = to_signed(registers[REG_SETPOINT])
    if setpoint != SETPOINT_UNKNOWN:
        state[SETPOINT] = round(setpoint / options.setpoint_scale, 1)
    return state


def state_to_registers(state: State, options: IntesisModbusOptions) -> dict[int, int]:
    """The register writes for an already checked plan (see IntesisModbusCodec._plan)."""
    writes: dict[int, int] = {}
    if MODE in state:
        writes[REG_MODE] = MODE_VALUES[str(state[MODE])]
    if FAN in state:
        value = fan_value(str(state[FAN]), options.fan_speeds)
        if value is not None:
            writes[REG_FAN] = value
    if SETPOINT in state:
        writes[REG_SETPOINT] = round(float(state[SETPOINT]) * options.setpoint_scale)
    if POWER in state:
        writes[REG_ONOFF] = 1 if state[POWER] else 0
    return writes


class IntesisModbusCodec(SerialCodec[IntesisModbusOptions]):
    convention: ClassVar[str] = "intesis-modbus"
    kinds: ClassVar[frozenset[Kind]] = frozenset({"climate"})

    @classmethod
    def make_framing(cls) -> Framing:
        return ModbusRtuFraming()

    @property
    def unit(self) -> str:
        return str(self.options.address)

    def query(self) -> list[Message]:
        return [Message(f"{self.unit}/read",
                        read_holding(self.options.address, REG_ONOFF, STATUS_COUNT))]

    def encode(self, desired: State) -> list[Message]:
        writes = state_to_registers(self._plan(desired), self.options)
        if not writes:
            return []
        return [*(Message(f"{self.unit}/write", write_register(self.options.address, reg, v))
                  for reg, v in writes.items()), *self.query()]

    def confirmation(self, desired: State) -> State:
        return self._plan(desired)

    def _plan(self, desired: State) -> dict[str, StateValue]:
        plan: dict[str, StateValue] = {}
        for attribute, value in desired.items():
            if attribute == POWER and isinstance(value, bool):
                plan[POWER] = value
            elif attribute == MODE and value == "off":
                if desired.get(POWER) is True:
                    raise UnsupportedCommand(self.device_id, MODE, "mode off means power off")
                plan[POWER] = False
            elif attribute == MODE and value in MODE_VALUES:
                plan[MODE] = value
                plan.setdefault(POWER, desired.get(POWER, True))  # a mode means running in it
            elif attribute == SETPOINT and is_finite_number(value) and 0 <= float(value) <= 99:
                plan[SETPOINT] = round(float(value), 1)
            elif attribute == FAN and value in FAN_SPEEDS and \
                    fan_value(str(value), self.options.fan_speeds) is not None:
                plan[FAN] = value
            else:
                raise UnsupportedCommand(self.device_id, attribute, f"{value!r} is not valid")
        return plan

    def decode(self, topic: str, payload: bytes) -> Update | None:
        if is_link_topic(topic):
            return Update(available=link_state(topic, payload))
        unit, _, verb = topic.partition("/")
        if unit != self.unit:
            return None
        if verb == "write":
            check_write_echo(topic, payload, self.options.address)
            return None
        if verb != "read":
            raise DecodeError(topic, f"no such request {verb!r}")
        registers = read_registers(topic, payload, self.options.address, STATUS_COUNT)
        return Update(state=registers_to_state(registers, self.options), available=True)




CODEC = IntesisModbusCodec
