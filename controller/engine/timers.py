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
    """One timer per step still ahead: `at(when, visit_id, key)` runs
    `step(visit_id, key, when)` as a task of its own, not before `when`."""

    def __init__(self, tz: ZoneInfo, step: Step) -> None:
        self.scheduler = AsyncIOScheduler(timezone=tz)
        self._step = step
        # visit id → step key → (its due time, its timer)
        self._timers: dict[str, dict[str, tuple[datetime, asyncio.TimerHandle]]] = {}
        self._tasks = TaskSet("step", logger=log)

    def start(self) -> None:
        self.scheduler.start()

    def stop(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        for timers in self._timers.values():
            for _, timer in timers.values():
                timer.cancel()
        self._timers.clear()

    async def close(self) -> None:
        """Stop, and wait for the steps the timers started."""
        self.stop()
        await self._tasks.stop()

    def at(self, when: datetime, visit_id: str, key: str) -> None:
        """Run the step at `when` (replacing its timer, if it had one)."""
        timers = self._timers.setdefault(visit_id, {})
        old = timers.pop(key, None)
        if old is not None:
            old[1].cancel()
        self._arm(when, visit_id, key)

    def due(self, visit_id: str) -> dict[str, datetime]:
        """The visit's steps still on the clock, each with its due time."""
        return {key: when for key, (when, _) in self._timers.get(visit_id, {}).items()}

    def _arm(self, when: datetime, visit_id: str, key: str) -> None:
        loop = asyncio.get_running_loop()
        left = (when - datetime.now(UTC)).total_seconds()
        timer = loop.call_at(loop.time() + min(max(left, 0.0), REARM_S), self._fire, when,
                             visit_id, key)
        self._timers.setdefault(visit_id, {})[key] = (when, timer)

    def _fire(self, when: datetime, visit_id: str, key: str) -> None:
        if datetime.now(UTC) < when:  # armed for REARM_S, or the loop's clock ran ahead
            self._arm(when, visit_id, key)
            return
        timers = self._timers.get(visit_id)
        if timers is not None:
            timers.pop(key, None)
            if not timers:
                del self._timers[visit_id]
        self._tasks.spawn(self._step(visit_id, key, when), f"{visit_id}|{key}")

    def every(self, seconds: float, job: Callable[[], Awaitable[None]], job_id: str) -> None:
        self.scheduler.add_job(job, "interval", seconds=seconds, id=job_id,
                               replace_existing=True, coalesce=True)

    def unschedule(self, visit_id: str) -> None:
        for _, timer in self._timers.pop(visit_id, {}).values():
            timer.cancel()
