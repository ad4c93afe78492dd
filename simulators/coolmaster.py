"""A simulated CoolMasterNet gateway with several indoor units, on a pty or a socket.

It answers the ASCII commands vipctl's codec sends (devices/conventions/coolmaster.py) the
way the PRM documents them: status lines, then an exit code, then the prompt. Its status
lines come from the codec module's own `status_line`, the exact format the codec parses.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from devices.conventions.coolmaster import (
    EOL,
    FAN_LETTERS,
    MODE_COMMANDS,
    PROMPT,
    UNKNOWN_COMMAND,
    status_line,
)
from devices.model import FAN, MODE, POWER, SETPOINT, State, StateValue
from simulators.serial_link import Link, SerialSimulator

# Exit codes in their verbose form (CoolMasterNet PRM rev 0.7, 6.1.2).
NO_UID = "No UID"
BAD_FORMAT = "Bad Format"
# A unit as it leaves the factory: off, cooling at 25 °C, fan on auto.
DEFAULT_UNIT: dict[str, StateValue] = {POWER: False, MODE: "cool", SETPOINT: 25.0, FAN: "auto"}
ROOM_TEMPERATURE = 27.0
_UID = re.compile(r"^L[1-9]\.\d{3}$")
_VERB_MODES = {command: mode for mode, command in MODE_COMMANDS.items()}
_LETTER_FANS = {letter: fan for fan, letter in FAN_LETTERS.items()} | {"t": "high", "v": "low"}


class CoolMasterSimulator(SerialSimulator):
    """`units`: the indoor units on the gateway's HVAC lines, e.g. ["L1.100", "L1.101"]."""

    def __init__(self, name: str, link: Link, units: Iterable[str], *,
                 has_ls2: bool = True) -> None:
        super().__init__(name, link)
        self.units: dict[str, dict[str, StateValue]] = {u: dict(DEFAULT_UNIT) for u in units}
        self.has_ls2 = has_ls2  # False: an older gateway that only knows `ls`
        self._buffer = b""

    def reported(self, unit: str) -> dict[str, StateValue]:
        return {**self.units[unit], **self.faults.wrong_state}

    def change_locally(self, unit: str, state: State) -> None:
        """Someone at the wall controller: the state changes, vipctl learns by polling."""
        self.units[unit].update(state)

    def feed(self, data: bytes) -> None:
        self._buffer += data
        while True:
            cut = min((i for i in (self._buffer.find(b"\r"), self._buffer.find(b"\n"))
                       if i >= 0), default=-1)
            if cut < 0:
                self._buffer = self._buffer[-1024:]
                return
            raw, self._buffer = self._buffer[:cut], self._buffer[cut + 1 :]
            line = raw.decode("ascii", errors="replace").strip()
            if not line:
                continue
            words = line.split()
            self.record(words[1] if len(words) > 1 else "", line)
            if self.faults.ignore_commands:
                continue
            lines, exit_code = self.execute(words)
            self.answer(b"".join(x.encode() + EOL for x in [*lines, exit_code]) + PROMPT)

    def execute(self, words: list[str]) -> tuple[list[str], str]:
        """One command: the lines it prints and its exit code."""
        verb, args = words[0], words[1:]
        if verb in ("ls2", "ls") and (verb == "ls" or self.has_ls2):
            return self._list(args, decimals=verb == "ls2")
        if verb in _VERB_MODES or verb in ("on", "off", "temp", "fspeed"):
            if not args or not _UID.match(args[0]):
                return [], BAD_FORMAT
            unit = self.units.get(args[0])
            if unit is None:
                return [], NO_UID
            return [], self._set(unit, verb, args[1:])
        return [], UNKNOWN_COMMAND

    def _list(self, args: list[str], *, decimals: bool) -> tuple[list[str], str]:
        units = [args[0]] if args else sorted(self.units)
        if any(u not in self.units for u in units):
            return [], NO_UID
        return [status_line(u, self.reported(u), room=ROOM_TEMPERATURE, decimals=decimals)
                for u in units], "OK"

    def _set(self, unit: dict[str, StateValue], verb: str, args: list[str]) -> str:
        if verb in ("on", "off"):
            unit[POWER] = verb == "on"
        elif verb in _VERB_MODES:
            unit[MODE] = _VERB_MODES[verb]
        elif verb == "temp":
            try:
                unit[SETPOINT] = float(args[0])
            except (IndexError, ValueError):
                return BAD_FORMAT
        elif verb == "fspeed":
            fan = _LETTER_FANS.get(args[0]) if args else None
            if fan is None:
                return BAD_FORMAT
            unit[FAN] = fan
        return "OK"
