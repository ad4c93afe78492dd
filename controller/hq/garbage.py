"""What head office says about messages it refuses: one short line each, and not too many.

A site with a bug can send thousands of bad messages a minute, and a hostile one large
ones: every line is bounded (inbound.py quotes at most 80 bytes and 300 characters of
reasons) and past LINES_PER_MINUTE a minute's further refusals are only counted, then
summed up in one line.
"""

from __future__ import annotations

import logging
import time
from collections import Counter

from controller.hq.inbound import Refused

LINES_PER_MINUTE = 20
WINDOW_S = 60.0


class GarbageLog:
    def __init__(self, log: logging.Logger) -> None:
        self.log = log
        self.by_site: Counter[str] = Counter()
        self._window_start = time.monotonic()
        self._lines = 0
        self._quiet = 0

    def refused(self, refused: Refused) -> None:
        self.by_site[refused.site or "?"] += 1
        now = time.monotonic()
        if now - self._window_start >= WINDOW_S:
            if self._quiet:
                self.log.warning("%d more refused messages in the last minute were not logged",
                                 self._quiet)
            self._window_start, self._lines, self._quiet = now, 0, 0
        if self._lines >= LINES_PER_MINUTE:
            self._quiet += 1
            return
        self._lines += 1
        self.log.warning("refused a message on %s: %s", refused.topic, refused.reason)
