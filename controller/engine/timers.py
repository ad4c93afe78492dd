"""The engine's clock: each visit's steps on the event loop's own timers, indexed by visit;
APScheduler's AsyncIOScheduler for the recurring jobs.

A step's timer is the loop's `call_at`, not an APScheduler date job: APScheduler 3 wakes
its scheduler through `call_soon_threadsafe` for every job added, computes the next wake-up
in a datetime round trip and runs the job through its executor, which cost a cue 3–6 ms of
lateness at p50 on the bench (README, "Performance"); a loop timer fires within the loop's
own granularity. The due time is wall-clock time (as APScheduler's run_date was), so a
timer is armed at most REARM_S ahead and, on firing, looks at the wall clock again: a step
never runs early, and a clock set forward or back by NTP moves it with the clock.

APScheduler 3.11 (4.x is a pre-release): the scheduler must be started inside the running
loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from common.tasks import TaskSet

log = logging.getLogger(__name__)

Step = Callable[[str, str, datetime], Coroutine[Any, Any, None]]  # (visit id, step key, due)
# The longest a timer is armed for before it looks at the wall clock again.
REARM_S = 60.0


class Timers:
    """One timer per due time still ahead: `at(when, visit_id, key)` runs
    `step(visit_id, key, when)` as a task of its own, not before `when`; steps due at the
    same time start in the order they were put on the clock (the scene's order)."""

    def __init__(self, tz: ZoneInfo, step: Step) -> None:
        self.scheduler = AsyncIOScheduler(timezone=tz)
        self._step = step
        self._due: dict[str, dict[str, datetime]] = {}  # visit id → step key → due time
        # due time → its loop timer and its steps, in order
        self._slots: dict[datetime, tuple[asyncio.TimerHandle, dict[tuple[str, str], None]]] = {}
        self._tasks = TaskSet("step", logger=log)

    def start(self) -> None:
        self.scheduler.start()

    def stop(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        for timer, _ in self._slots.values():
            timer.cancel()
        self._slots.clear()
        self._due.clear()

    async def close(self) -> None:
        """Stop, and wait for the steps the timers started."""
        self.stop()
        await self._tasks.stop()

    def at(self, when: datetime, visit_id: str, key: str) -> None:
        """Run the step at `when` (replacing its timer, if it had one)."""
        self._drop(visit_id, key)
        self._due.setdefault(visit_id, {})[key] = when
        slot = self._slots.get(when)
        if slot is None:
            slot = (self._arm(when), {})
            self._slots[when] = slot
        slot[1][(visit_id, key)] = None

    def due(self, visit_id: str) -> dict[str, datetime]:
        """The visit's steps still on the clock, each with its due time."""
        return dict(self._due.get(visit_id, {}))

    def unschedule(self, visit_id: str) -> None:
        for key in list(self._due.get(visit_id, ())):
            self._drop(visit_id, key)

    def every(self, seconds: float, job: Callable[[], Awaitable[None]], job_id: str) -> None:
        self.scheduler.add_job(job, "interval", seconds=seconds, id=job_id,
                               replace_existing=True, coalesce=True)

    def _drop(self, visit_id: str, key: str) -> None:
        keys = self._due.get(visit_id)
        if keys is None or key not in keys:
            return
        when = keys.pop(key)
        if not keys:
            del self._due[visit_id]
        timer, steps = self._slots[when]
        steps.pop((visit_id, key), None)
        if not steps:
            timer.cancel()
            del self._slots[when]

    def _arm(self, when: datetime) -> asyncio.TimerHandle:
        loop = asyncio.get_running_loop()
        left = (when - datetime.now(UTC)).total_seconds()
        return loop.call_at(loop.time() + min(max(left, 0.0), REARM_S), self._fire, when)

    def _fire(self, when: datetime) -> None:
        slot = self._slots.get(when)
        if slot is None:  # pragma: no cover - cancelled timers do not fire
            return
        if datetime.now(UTC) < when:  # armed for REARM_S, or the loop's clock ran ahead
            self._slots[when] = (self._arm(when), slot[1])
            return
        del self._slots[when]
        for visit_id, key in slot[1]:
            keys = self._due[visit_id]
            del keys[key]
            if not keys:
                del self._due[visit_id]
            self._tasks.spawn(self._step(visit_id, key, when), f"{visit_id}|{key}")
