"""The visits not yet over, in memory: by id, by start (sorted) and by status.

The book (book.py) reads them once and keeps them up to date with its own writes, so that
a button press finds its visit without a query (bench/, "Performance").
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from datetime import datetime, timedelta

from controller.store.visits import MAX_DURATION, OPEN, Visit, VisitStatus


class OpenVisits:
    def __init__(self, visits: Iterable[Visit] = ()) -> None:
        self.by_id: dict[str, Visit] = {}
        self._starts: list[tuple[datetime, str]] = []  # (start, id) of by_id, sorted
        self._by_status: dict[VisitStatus, set[str]] = {}
        for visit in visits:
            self.remember(visit)

    def remember(self, visit: Visit) -> None:
        """Put `visit` as it now is in memory (or drop it there, once it is over)."""
        cache = self.by_id
        old = cache.pop(visit.id, None)
        if old is not None:
            key = (old.start, old.id)
            del self._starts[bisect.bisect_left(self._starts, key)]
            self._by_status[old.status].discard(old.id)
        if visit.status in OPEN:
            cache[visit.id] = visit
            bisect.insort(self._starts, (visit.start, visit.id))
            self._by_status.setdefault(visit.status, set()).add(visit.id)

    def nearest(self, at: datetime, *, ahead: timedelta,
                statuses: Iterable[VisitStatus]) -> Visit | None:
        """The visit in `statuses` under way at `at` or starting within `ahead` of it
        (start - ahead <= at <= end) whose start is nearest `at`."""
        cache, wanted = self.by_id, frozenset(statuses)
        best: Visit | None = None
        starts = self._starts
        middle = bisect.bisect_left(starts, (at, ""))
        for i in range(middle, len(starts)):  # starting at or after `at`
            start, visit_id = starts[i]
            if start - ahead > at or (best is not None and start - at >= abs(best.start - at)):
                break
            visit = cache[visit_id]
            if visit.status in wanted:
                best = visit
                break
        for i in range(middle - 1, -1, -1):  # started before `at`
            start, visit_id = starts[i]
            if at - start > MAX_DURATION or (best is not None
                                             and at - start >= abs(best.start - at)):
                break
            visit = cache[visit_id]
            if visit.status in wanted and at <= visit.end:
                best = visit
                break
        return best

    def between(self, since: datetime | None, until: datetime | None,
                wanted: frozenset[VisitStatus], *, after: tuple[datetime, str] | None = None,
                limit: int | None = None) -> list[Visit]:
        """Those in `wanted` starting in [since, until) (aware times) and after the visit
        whose (start, id) is `after`, in order of start; the first `limit` of them."""
        cache = self.by_id
        few = sum(len(self._by_status.get(s, ())) for s in wanted)
        if few < 64 or (since is None and until is None and after is None and limit is None):
            # Few of them (those on site, say), or all of them: by status, then sorted.
            found = [cache[i] for s in wanted for i in self._by_status.get(s, ())]
            found = [v for v in found if (since is None or v.start >= since)
                     and (until is None or v.start < until)
                     and (after is None or (v.start, v.id) > after)]
            found.sort(key=lambda v: (v.start, v.id))
            return found if limit is None else found[:limit]
        starts = self._starts
        lo = 0 if since is None else bisect.bisect_left(starts, (since, ""))
        if after is not None:
            lo = max(lo, bisect.bisect_right(starts, after))
        hi = len(starts) if until is None else bisect.bisect_left(starts, (until, ""))
        page: list[Visit] = []
        for _, visit_id in starts[lo:hi]:
            visit = cache[visit_id]
            if visit.status in wanted:
                page.append(visit)
                if limit is not None and len(page) >= limit:
                    break
        return page
