"""pyserial URL handler `pttloop://NAME`: a loop:// port whose control lines are recorded.

pyserial finds URL handlers as `<package>.protocol_<scheme>` modules of the packages in
`serial.protocol_handler_packages` (simulators/ptt.py adds `simulators`). Like loop://, RTS
shows on CTS and DTR on DSR; on top of that every time the port applies a line to the
"hardware" (when it opens, and on every change while open) it is written to the record named
NAME, so an observer made before the port exists sees the lines from the very first moment.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from serial import SerialException
from serial.urlhandler import protocol_loop


@dataclass(slots=True)
class LineRecord:
    """Every level the port applied: (time.monotonic(), "rts" or "dtr", level)."""

    changes: list[tuple[float, str, bool]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, line: str, level: bool) -> None:
        with self.lock:
            self.changes.append((time.monotonic(), line, level))

    def levels(self, line: str) -> list[tuple[float, bool]]:
        with self.lock:
            return [(t, v) for t, name, v in self.changes if name == line]


RECORDS: dict[str, LineRecord] = {}
_records_lock = threading.Lock()


def record(name: str) -> LineRecord:
    with _records_lock:
        return RECORDS.setdefault(name, LineRecord())


class Serial(protocol_loop.Serial):
    def from_url(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme != "pttloop" or not parts.netloc:
            raise SerialException(f"expected pttloop://NAME, got {url!r}")
        self.record = record(parts.netloc)

    def _update_rts_state(self) -> None:
        self.record.add("rts", bool(self.rts))  # the level just set, as applied

    def _update_dtr_state(self) -> None:
        self.record.add("dtr", bool(self.dtr))
