"""A simulated CoolMasterNet gateway with several indoor units, on a pty or a socket.

It answers the ASCII commands vipctl's codec sends (devices/conventions/coolmaster.py) the
way the PRM documents them: status lines, then an exit code, then the prompt. Its status
lines come from the codec module's own `status_line`, the exact format the codec parses.

It also behaves as the field's own clients expect of a CoolMasterNet's TCP port (Home
Assistant's library, pycoolmasternet-async, is the test: tests/serial/test_coolmaster_client.py):
it greets each new connection with the prompt, answers an empty line with the prompt, takes
LF alone as a line's end, and knows `set` (the gateway's settings, which the library reads as
its info) and `query`.
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
UNSUPPORTED = "Unsupported Feature"  # what pycoolmasternet-async looks for after `swing`
# What `set` without arguments lists, "name : value" (PRM rev 0.7, 6.2.1 "set"); Home
# Assistant shows `version` as the gateway's firmware.
SETTINGS = (("S/N", "SIM000000001"), ("version", "1.3.4"), ("baud rate", "9600"),
            ("echo", "0"), ("verbose", "1"), ("deg C/F", "C"), ("HVAC lines", "1"))
# `query <UID> <what>` codes (PRM "query"): mode and fan speed as digits.
QUERY_MODES = {"cool": "0", "heat": "1", "auto": "2", "dry": "3", "fan_only": "5"}
QUERY_FANS = {"low": "0", "medium": "1", "high": "2", "auto": "3"}
# A unit as it leaves the factory: off, cooling at 25 °C, fan on auto.
DEFAULT_UNIT: dict[str, StateValue] = {POWER: False, MODE: "cool", SETPOINT: 25.0, FAN: "auto"}
ROOM_TEMPERATURE = 27.0
_UID = re.compile(r"^L[1-9]\.\d{3}$")
_VERB_MODES = {command: mode for mode, command in MODE_COMMANDS.items()}
# fspeed takes a letter (PRM) or, as Home Assistant sends it, a word: low, med, high, auto.
_LETTER_FANS = {letter: fan for fan, letter in FAN_LETTERS.items()} | {"t": "high", "v": "low"}
_WORD_FANS = {"low": "low", "med": "medium", "medium": "medium", "high": "high", "top": "high",
              "auto": "auto", "vlow": "low"}
_SET_VERBS = frozenset({*_VERB_MODES, "on", "off", "temp", "fspeed"})


class CoolMasterSimulator(SerialSimulator):
    """`units`: the indoor units on the gateway's HVAC lines, e.g. ["L1.100", "L1.101"]."""

    def __init__(self, name: str, link: Link, units: Iterable[str], *,
                 has_ls2: bool = True) -> None:
        super().__init__(name, link)
        self.units: dict[str, dict[str, StateValue]] = {u: dict(DEFAULT_UNIT) for u in units}
        self.has_ls2 = has_ls2  # False: an older gateway that only knows `ls`
        self._buffer = b""
        self._after_cr = False  # the last line ended in CR: a LF next is its CR LF's end
        link.on_connect = self._greet

    def _greet(self) -> None:
        """A CoolMasterNet's TCP port prompts each new connection; clients wait for it."""
        self._buffer, self._after_cr = b"", False
        if not self.faults.ignore_commands:
            self.link.write(PROMPT)

    def reported(self, unit: str) -> dict[str, StateValue]:
        return {**self.units[unit], **self.faults.wrong_state}

    def change_locally(self, unit: str, state: State) -> None:
        """Someone at the wall controller: the state changes, vipctl learns by polling."""
        self.units[unit].update(state)

    def feed(self, data: bytes) -> None:
        """Lines end in CR LF, CR or LF alone (pycoolmasternet-async sends LF)."""
        if self._after_cr and data.startswith(b"\n"):
            data = data[1:]
        self._after_cr = False
        self._buffer += data
        while (cut := _line_end(self._buffer)) >= 0:
            raw, rest = self._buffer[:cut], self._buffer[cut + 1 :]
            if self._buffer[cut : cut + 1] == b"\r":
                if rest.startswith(b"\n"):
                    rest = rest[1:]
                elif not rest:
                    self._after_cr = True
            self._buffer = rest
            self._line(raw.decode("ascii", errors="replace").strip())
        self._buffer = self._buffer[-1024:]

    def _line(self, line: str) -> None:
        words = line.split()
        if words:
            self.record(words[1] if len(words) > 1 else "", line)
        if self.faults.ignore_commands:
            return
        if not words:  # Enter on its own: a fresh prompt (a client's wake-up)
            self.answer(PROMPT)
            return
        lines, exit_code = self.execute(words)
        self.answer(b"".join(x.encode() + EOL for x in [*lines, exit_code]) + PROMPT)

    def execute(self, words: list[str]) -> tuple[list[str], str]:
        """One command: the lines it prints and its exit code."""
        verb, args = words[0], words[1:]
        if verb in ("ls2", "ls") and (verb == "ls" or self.has_ls2):
            return self._list(args, decimals=verb == "ls2")
        if verb == "set" and not args:
            return [f"{name:<11}: {value}" for name, value in SETTINGS], "OK"
        if verb in _SET_VERBS or verb == "query":
            if not args or not _UID.match(args[0]):
                return [], BAD_FORMAT
            if args[0] not in self.units:
                return [], NO_UID
            if verb == "query":
                return self._query(args[0], args[1:])
            return [], self._set(self.units[args[0]], verb, args[1:])
        return [], UNKNOWN_COMMAND

    def _query(self, uid: str, args: list[str]) -> tuple[list[str], str]:
        """One condition of one unit, as a number (PRM "query"); no unit here can swing."""
        unit = self.reported(uid)
        what = args[0] if len(args) == 1 else ""
        setpoint = float(unit.get(SETPOINT, 25.0))
        answers = {"o": "1" if unit.get(POWER) else "0",
                   "m": QUERY_MODES.get(str(unit.get(MODE)), "0"),
                   "f": QUERY_FANS.get(str(unit.get(FAN)), "3"),
                   "t": f"{round(setpoint):d}", "h": f"{setpoint:.2f}",
                   "a": f"{round(ROOM_TEMPERATURE):d}", "e": "0"}
        if what == "s":
            return [], UNSUPPORTED
        if what not in answers:
            return [], BAD_FORMAT
        return [answers[what]], "OK"

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
            word = args[0].lower() if args else ""
            fan = _LETTER_FANS.get(word) or _WORD_FANS.get(word)
            if fan is None:
                return BAD_FORMAT
            unit[FAN] = fan
        return "OK"


def _line_end(buffer: bytes) -> int:
    """Where the first line ends (its CR or LF), or -1."""
    ends = [i for i in (buffer.find(b"\r"), buffer.find(b"\n")) if i >= 0]
    return min(ends, default=-1)
