"""Watching a push-to-talk line: what the radio would see.

Ports named `pttloop://NAME` (simulators/protocol_pttloop.py) record every level their RTS and
DTR lines take, from the moment they open. PttLineObserver reads that record as a radio's
PTT input would: when it was keyed, for how long, and whether it ever went up unasked.
"""

from __future__ import annotations

import itertools
import time

import serial

from simulators.protocol_pttloop import LineRecord, record

if "simulators" not in serial.protocol_handler_packages:
    serial.protocol_handler_packages.append("simulators")

_names = itertools.count(1)


class PttLineObserver:
    """The radio's side of one PTT line. `url` is what the push-to-talk should open."""

    def __init__(self, line: str = "rts", name: str | None = None) -> None:
        self.line = line
        self.name = name or f"radio{next(_names)}"
        self.record: LineRecord = record(self.name)

    @property
    def url(self) -> str:
        return f"pttloop://{self.name}"

    def levels(self) -> list[tuple[float, bool]]:
        """Every level applied to the line, in order, with its time.monotonic()."""
        return self.record.levels(self.line)

    @property
    def keyed(self) -> bool:
        levels = self.levels()
        return bool(levels) and levels[-1][1]

    def ever_keyed(self) -> bool:
        return any(level for _, level in self.levels())

    def transmissions(self, now: float | None = None) -> list[tuple[float, float]]:
        """(keyed at, seconds keyed) for each transmission; an open one lasts until now."""
        out: list[tuple[float, float]] = []
        start: float | None = None
        for t, level in self.levels():
            if level and start is None:
                start = t
            elif not level and start is not None:
                out.append((start, t - start))
                start = None
        if start is not None:
            out.append((start, (now or time.monotonic()) - start))
        return out
