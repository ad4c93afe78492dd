"""Announcements as every intercom takes them, whatever carries them to it.

What an announcement may be (an id, a text of bounded length, a priority 0-9, a language)
and the queue that orders them (highest priority first, in order of arrival within one,
with a memory of recent ids so that a re-sent one is never said twice). The controller's
announcer and every gateway (the vipctl-intercom simulator, the local speaker) use the same
queue, so that they all order and de-duplicate announcements alike.
"""

from __future__ import annotations

import heapq
import itertools
from collections import OrderedDict

from devices.model import Announcement

MAX_ID_CHARS = 128  # ids are made by vipctl (visit id + step); longer is garbage
MAX_TEXT_CHARS = 1000  # a few minutes of speech; the site's longest script is ~60 chars
PRIORITIES = range(10)  # 0 lowest, 9 highest, as in devices.model.Announcement
LANGS = ("zh", "en")
MAX_QUEUE = 100  # a gateway refuses beyond this: a flood must not delay speech for hours
REMEMBERED_IDS = 1000  # ids a gateway remembers, so a re-sent announcement is never said twice


def check_announcement(a: Announcement) -> None:
    """ValueError if `a` breaks the say schema."""
    if not isinstance(a.id, str) or not 0 < len(a.id) <= MAX_ID_CHARS:
        raise ValueError(f"id must be a string of 1-{MAX_ID_CHARS} chars")
    if not isinstance(a.text, str) or not a.text.strip() or len(a.text) > MAX_TEXT_CHARS:
        raise ValueError(f"text must be a non-blank string of at most {MAX_TEXT_CHARS} chars")
    if type(a.priority) is not int or a.priority not in PRIORITIES:  # bool and 5.0 are not
        raise ValueError(f"priority must be a whole number 0-9, not {a.priority!r}")
    if a.lang not in LANGS:
        raise ValueError(f"lang must be one of {', '.join(LANGS)}, not {a.lang!r}")



class AnnouncementQueue:
    """Announcements waiting to be spoken: highest priority first, FIFO within a priority.

    It also remembers the last event of the recent ids, so that a gateway can tell a re-sent
    announcement (the controller retries until it sees "done") from a new one.
    """

    def __init__(self, *, capacity: int = MAX_QUEUE, memory: int = REMEMBERED_IDS) -> None:
        self.capacity = capacity
        self._heap: list[tuple[int, int, Announcement]] = []
        self._order = itertools.count()
        self._known: OrderedDict[str, str] = OrderedDict()
        self._memory = memory

    def __len__(self) -> int:
        return len(self._heap)

    def last_event(self, announcement_id: str) -> str | None:
        """"queued", "started", "done" or "failed" if this id was seen recently, else None."""
        return self._known.get(announcement_id)

    def push(self, a: Announcement) -> None:
        """Queue a new announcement; ValueError when the queue is full."""
        if len(self._heap) >= self.capacity:
            raise ValueError(f"queue full ({self.capacity} waiting)")
        heapq.heappush(self._heap, (-a.priority, next(self._order), a))
        self._remember(a.id, "queued")

    def pop(self) -> Announcement | None:
        """The next announcement to speak (now "started"), or None if none waits."""
        if not self._heap:
            return None
        a = heapq.heappop(self._heap)[2]
        self._remember(a.id, "started")
        return a

    def finish(self, announcement_id: str, *, ok: bool) -> None:
        self._remember(announcement_id, "done" if ok else "failed")

    def _remember(self, announcement_id: str, event: str) -> None:
        self._known[announcement_id] = event
        self._known.move_to_end(announcement_id)
        while len(self._known) > self._memory:
            self._known.popitem(last=False)
