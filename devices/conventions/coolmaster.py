"""CoolMasterNet-style ASCII air-conditioning gateways, one indoor unit per device.

CoolAutomation, "CoolMasterNet PRM" (programmer reference manual, rev 0.7, 2017), section 6
"ASCII I/F": a command is one line ending in CR LF (or CR), e.g. `on L1.100`, `cool L1.100`,
`temp L1.100 24`, `fspeed L1.100 h`; the gateway answers with optional lines, then an exit
code line (`OK`, `ERROR:N` or a word such as `No UID`, and on older CoolMasters
`Unknown command` / `Bad parameters`), each ending in CR LF, then the prompt `>`.

Status: `ls2 L1.100` (temperatures with one decimal) and, on gateways without it, `ls`:

    L1.102 ON  16.9C 27.0C High Cool OK   - 0        (ls2, PRM rev 0.7 p.39)
    L2.102 OFF 20C 27C Auto Cool OK - 0              (ls,  PRM rev 0.7 p.16)

fields: unit, ON/OFF, set temperature, room temperature, fan speed (VLow Low Med High Top
Auto), mode (Cool Heat Fan Dry Auto), failure code, filter sign, demand. The gateway never
pushes, so the port polls. Every command is followed by the status request that confirms it.
"""

from __future__ import annotations

import re
from typing import ClassVar, Literal

from pydantic import Field

from devices.conventions.base import is_finite_number
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

# Line terminator of commands and reply lines (PRM 6.1.1), and the prompt after each reply.
EOL = b"\r\n"
PROMPT = b">"
# What ends a reply: the last line's CR LF, then the prompt.
REPLY_END = EOL + PROMPT
# The exit code of a command that worked.
EXIT_OK = "OK"
# A gateway without `ls2` says this; vipctl falls back to `ls` for that gateway.
UNKNOWN_COMMAND = "Unknown command"
STATUS_VERBS = ("ls2", "ls")
# A reply larger than this is not a status line and an exit code.
MAX_REPLY = 4096
# Mode words: vipctl's name → the command, and the status word → vipctl's name.
MODE_COMMANDS = {"cool": "cool", "heat": "heat", "fan_only": "fan", "dry": "dry", "auto": "auto"}
MODE_WORDS = {"cool": "cool", "heat": "heat", "fan": "fan_only", "dry": "dry", "auto": "auto"}
# fspeed letters (PRM "fspeed <UID> <l|m|h|t|a|v>") and the status words; VLow and Top have
# no vipctl name and read as the nearest one.
FAN_LETTERS = {"low": "l", "medium": "m", "high": "h", "auto": "a"}
FAN_WORDS = {"vlow": "low", "low": "low", "med": "medium", "high": "high", "top": "high",
             "auto": "auto"}
UNIT_PATTERN = r"^L[1-9]\.\d{3}$"  # UID_STRICT, "Ln.XYY" (PRM 6.1.3)
_TEMPERATURE = re.compile(r"^(-?\d+(?:[.,]\d+)?)([CF])$")


class CoolMasterOptions(SerialOptions):
    """`serial: {convention: coolmaster, port: ac_gateway, unit: L1.100}`"""

    convention: Literal["coolmaster"]
    unit: str = Field(pattern=UNIT_PATTERN)  # the indoor unit, line and number: L1.100

    def where(self) -> str:
        return f"{self.port} unit {self.unit}"


class CoolMasterFraming:
    """Commands go out as written; a reply ends with CR LF and the prompt."""

    def outgoing(self, topic: str, payload: bytes) -> bytes:
        return payload

    def expects_reply(self, topic: str) -> bool:
        return True

    def reply_length(self, buffer: bytes) -> int | None:
        end = buffer.find(REPLY_END)
        if end >= 0:
            return end + len(REPLY_END)
        return len(buffer) if len(buffer) > MAX_REPLY else None

    def refresh(self) -> bytes | None:
        return None


def reply_lines(topic: str, payload: bytes) -> tuple[list[str], str]:
    """The lines of a reply before its exit code, and the exit code."""
    if len(payload) > MAX_REPLY:
        raise DecodeError(topic, "reply too large", payload[:64])
    try:
        text = payload.decode("ascii")
    except UnicodeDecodeError:
        raise DecodeError(topic, "reply is not ASCII", payload[:64]) from None
    lines = [line.strip() for line in text.replace("\r", "\n").split("\n")]
    lines = [line.lstrip(">").strip() for line in lines]
    lines = [line for line in lines if line]
    if not lines:
        raise DecodeError(topic, "empty reply", payload[:64])
    return lines[:-1], lines[-1]


def parse_temperature(topic: str, text: str) -> float:
    match = _TEMPERATURE.match(text)
    if not match:
        raise DecodeError(topic, f"temperature {text[:16]!r} is not nn.nC or nnn.nF")
    value = float(match.group(1).replace(",", "."))
    if match.group(2) == "F":
        value = (value - 32) * 5 / 9
    return round(value, 1)


def parse_status_line(topic: str, line: str) -> dict[str, StateValue]:
    """One `ls`/`ls2` line as vipctl state (the room temperature has no vipctl attribute)."""
    fields = line.split()
    if len(fields) not in (8, 9):
        raise DecodeError(topic, f"status line has {len(fields)} fields, not 8 or 9")
    power = fields[1].upper()
    if power not in ("ON", "OFF"):
        raise DecodeError(topic, f"power {fields[1][:8]!r} is neither ON nor OFF")
    state: dict[str, StateValue] = {POWER: power == "ON",
                                    SETPOINT: parse_temperature(topic, fields[2])}
    parse_temperature(topic, fields[3])  # the room temperature: checked, not kept
    fan = FAN_WORDS.get(fields[4].lower())
    if fan is not None:
        state[FAN] = fan
    mode = MODE_WORDS.get(fields[5].lower())
    if mode is not None:  # "Haux" and other vendor modes have no vipctl name
        state[MODE] = mode
    return state


def status_line(unit: str, state: State, *, room: float = 25.0, decimals: bool = True) -> str:
    """The `ls2` (or `ls`) line a gateway prints for `state` (the simulator's side)."""
    def temp(value: float) -> str:
        return f"{value:04.1f}C" if decimals else f"{round(value):d}C"

    fan_word = {"low": "Low", "medium": "Med", "high": "High", "auto": "Auto"}
    mode_word = {"cool": "Cool", "heat": "Heat", "fan_only": "Fan", "dry": "Dry", "auto": "Auto"}
    return (f"{unit} {'ON ' if state.get(POWER) else 'OFF'} "
            f"{temp(float(state.get(SETPOINT, 25.0)))} {temp(room)} "
            f"{fan_word[str(state.get(FAN, 'auto'))]:<4} "
            f"{mode_word[str(state.get(MODE, 'cool'))]:<4} OK   - 0")


class CoolMasterCodec(SerialCodec[CoolMasterOptions]):
    """Controller side of one indoor unit behind a CoolMaster gateway."""

    convention: ClassVar[str] = "coolmaster"
    kinds: ClassVar[frozenset[Kind]] = frozenset({"climate"})

    def __init__(self, device_id: str, kind: Kind, options: CoolMasterOptions) -> None:
        super().__init__(device_id, kind, options)
        self.status_verb = "ls2"  # "ls" once the gateway said it has no ls2

    @classmethod
    def make_framing(cls) -> Framing:
        return CoolMasterFraming()

    @property
    def unit(self) -> str:
        return self.options.unit

    def _request(self, verb: str, *args: str) -> Message:
        line = " ".join((verb, self.unit, *args))
        return Message(f"{self.unit}/{verb}", line.encode("ascii") + EOL)

    def query(self) -> list[Message]:
        return [self._request(self.status_verb)]

    def encode(self, desired: State) -> list[Message]:
        plan = self._plan(desired)
        messages = []
        if MODE in plan:
            messages.append(self._request(MODE_COMMANDS[str(plan[MODE])]))
        if SETPOINT in plan:
            messages.append(self._request("temp", f"{float(plan[SETPOINT]):g}"))
        if FAN in plan:
            messages.append(self._request("fspeed", FAN_LETTERS[str(plan[FAN])]))
        if POWER in plan:
            messages.append(self._request("on" if plan[POWER] else "off"))
        return [*messages, *self.query()] if messages else []

    def confirmation(self, desired: State) -> State:
        return self._plan(desired)

    def _plan(self, desired: State) -> dict[str, StateValue]:
        """What to set: mode "off" means power off; choosing a working mode means running."""
        plan: dict[str, StateValue] = {}
        for attribute, value in desired.items():
            if attribute == POWER and isinstance(value, bool):
                plan[POWER] = value
            elif attribute == MODE and value == "off":
                if desired.get(POWER) is True:
                    raise UnsupportedCommand(self.device_id, MODE, "mode off means power off")
                plan[POWER] = False
            elif attribute == MODE and value in MODE_COMMANDS:
                plan[MODE] = value
                plan.setdefault(POWER, desired.get(POWER, True))
            elif attribute == SETPOINT and is_finite_number(value) and 0 <= float(value) <= 99:
                plan[SETPOINT] = round(float(value), 1)
            elif attribute == FAN and value in FAN_SPEEDS:
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
        lines, exit_code = reply_lines(topic, payload)
        if verb == "ls2" and exit_code == UNKNOWN_COMMAND:
            self.status_verb = "ls"  # an older gateway: its status is `ls`
            return None
        if exit_code != EXIT_OK:
            raise DecodeError(topic, f"the gateway answered {exit_code[:40]!r}")
        if verb not in STATUS_VERBS:
            return None
        echo = f"{verb} {unit}"
        for line in lines:
            if line.split(" ", 1)[0] == unit:
                return Update(state=parse_status_line(topic, line), available=True)
            if line != echo:  # with `set echo 1` the gateway repeats the command first
                raise DecodeError(topic, f"unexpected line {line[:40]!r}")
        raise DecodeError(topic, f"no status line for {unit}")




CODEC = CoolMasterCodec
