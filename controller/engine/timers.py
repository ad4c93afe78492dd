"""The engine's clock: APScheduler's AsyncIOScheduler, with each visit's jobs indexed.

APScheduler 3.11 (4.x is a pre-release): the scheduler must be started inside the running
loop; a one-shot job missed while the process was down is dropped unless its
misfire_grace_time is None, which every step's job has (the engine decides what is stale).
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.asyncio import AsyncIOScheduler

Step = Callable[[str, str, datetime], Awaitable[None]]  # (visit id, step key, due)


class Timers:
    """One job per step still ahead: `at(when, visit_id, key)` runs
    `step(visit_id, key, when)`."""

    def __init__(self, tz: ZoneInfo, step: Step) -> None:
        self.scheduler = AsyncIOScheduler(timezone=tz)
        self._step = step
        self._jobs: dict[str, set[str]] = {}  # visit id → its job ids

    def start(self) -> None:
        self.scheduler.start()

    def stop(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    def at(self, when: datetime, visit_id: str, key: str) -> None:
        job_id = f"{visit_id}|{key}"
        self.scheduler.add_job(
            self._step, "date", run_date=when, args=[visit_id, key, when], id=job_id,
            replace_existing=True, misfire_grace_time=None, coalesce=True,
        )
        self._jobs.setdefault(visit_id, set()).add(job_id)

    def every(self, seconds: float, job: Callable[[], Awaitable[None]], job_id: str) -> None:
        self.scheduler.add_job(job, "interval", seconds=seconds, id=job_id,
                               replace_existing=True, coalesce=True)

    def unschedule(self, visit_id: str) -> None:
        for job_id in self._jobs.pop(visit_id, ()):
            with contextlib.suppress(JobLookupError):  # it has run
                self.scheduler.remove_job(job_id)
