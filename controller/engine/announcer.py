"""Announcements, one at a time per intercom, by priority, with the music ducked meanwhile.

Every announcement of vipctl (a scene's cue, a reminder, `vipctl say`) comes through here.
Each intercom has a queue: the highest priority goes first, in order of arrival within one
(the AnnouncementQueue the gateways use), and one worker sends them one by one, each waiting
until the intercom reports it played, and logs whether it was. On an idle intercom with
nothing to duck, the caller's own task says it (no worker, one task hop less for a press);
what comes meanwhile queues, and a worker takes the queue over. A device's own lock would
serve callers in arrival order; the queue is what lets an urgent announcement overtake
waiting ones. One being spoken is never cut off.

An announcement may carry a deadline (its cue's `run_until`: a reminder to wait at the
fountain is pointless once the guest is there). One still waiting when its deadline has
passed is dropped, not said, and the event log says so (`announcement`, result `expired`).

While an intercom speaks, the media devices its `duck:` names are turned down, through the
claim table (a layer of its own, above every scene; the `StateWriter` below, which the
executor is), so that a hold on the music's volume does not fight the ducking, and releasing
the layer brings back whatever the volume should be then. A duck left behind by a crash is
dropped at start-up.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from common.tasks import TaskSet
from controller.engine.context import in_step
from controller.engine.metrics import Metrics
from controller.store.events import EventLog
from devices.announcements import MAX_QUEUE, AnnouncementQueue
from devices.capabilities import Intercom, MediaPlayer
from devices.model import VOLUME, Announcement, CommandResult, State, StateValue
from devices.registry import DeviceRegistry

log = logging.getLogger(__name__)

# Above the scenes (50) and the manual overrides (1000): while someone speaks, the music is low.
DUCK_PRIORITY = 2000
# How long an announcement waits for the music to turn down before it goes out anyway.
DUCK_WAIT_S = 1.0
# How long past its deadline (its cue's run_until) an announcement still waiting is said
# anyway. Speech takes real time at any speed factor: at x600 a cue's window of minutes is
# a fraction of a second, less than one announcement lasts, and a rehearsal would drop
# what a real visit says. At speed 1 ten seconds past the moment is still the moment.
EXPIRY_GRACE = timedelta(seconds=10)


def duck_layer(intercom_id: str) -> str:
    return f"duck:{intercom_id}"


class StateWriter(Protocol):
    """How the announcer turns the music down and back up: through the claim table."""

    async def apply(self, layer: str, priority: int, target: str, state: State, *, hold: bool,
                    visit_id: str | None, step: str) -> list[CommandResult]: ...

    async def release(self, layers: list[str], *, visit_id: str | None,
                      step: str) -> tuple[int, dict[str, list[str]]]: ...

    def effective(self, device_id: str) -> dict[str, StateValue]: ...

    def drop_layers(self, prefix: str) -> list[str]: ...


@dataclass(slots=True)
class _Job:
    announcement: Announcement
    visit_id: str | None
    step: str
    done: asyncio.Future[bool]
    until: datetime | None = None  # said only up to then (its cue's run_until)


class Announcer:
    def __init__(self, registry: DeviceRegistry, events: EventLog, writer: StateWriter, *,
                 duck: Mapping[str, Mapping[str, int]] | None = None,
                 metrics: Metrics | None = None,
                 clock: Callable[[], datetime] | None = None) -> None:
        """`writer`: the claim table's (the executor); `duck`: intercom id → {media device
        id: volume while it speaks}; `metrics`: counts what is played and what fails;
        `clock`: the time deadlines are compared with (the daemon's)."""
        self.clock = clock or (lambda: datetime.now(UTC))
        self.expiry_grace = EXPIRY_GRACE
        self.registry = registry
        self.events = events
        self.writer = writer
        self.duck = {i: dict(m) for i, m in (duck or {}).items()}
        self.metrics = metrics or Metrics()
        self.queue_capacity = MAX_QUEUE  # per intercom; beyond it an announcement is refused
        self._queues: dict[str, AnnouncementQueue] = {}
        self._jobs: dict[str, dict[str, _Job]] = {}
        self._workers = TaskSet("announcer", logger=log)
        self._working: set[str] = set()
        self._ducked: set[str] = set()
        self._quiet = asyncio.Event()  # set whenever nothing is queued or playing
        self._quiet.set()
        # A crash while ducked leaves the layer in the saved claims: drop it before the
        # start-up re-assertion sets every device to its effective state.
        stale = writer.drop_layers(duck_layer(""))
        if stale:
            log.info("dropped %s, left from before the restart", ", ".join(stale))

    async def say(self, intercom_id: str, announcement: Announcement, *,
                  visit_id: str | None, step: str, until: datetime | None = None) -> bool:
        """Queue `announcement` and wait until it was played (True) or failed (False).
        `until`: still waiting then, it is dropped (False) and logged as expired."""
        self.registry.get(intercom_id, Intercom)  # fails here, not in a worker
        jobs = self._jobs.setdefault(intercom_id, {})
        queue = self._queues.setdefault(intercom_id, AnnouncementQueue(
            capacity=self.queue_capacity))
        known = jobs.get(announcement.id)
        if known is not None:  # the same announcement asked twice: one playing, both told
            return await asyncio.shield(known.done)
        job = _Job(announcement, visit_id, step, asyncio.get_running_loop().create_future(),
                   until)
        try:
            queue.push(announcement)
        except ValueError as exc:  # 100 waiting: a flood must not delay speech for hours
            self.metrics.announced(intercom_id, played=False)
            # Deferred as every announcement's event: under a flood a commit here for each
            # refusal would stall the loop and refuse yet more.
            self.events.append_soon(
                "announcement", visit_id=visit_id, device_id=intercom_id,
                detail={"step": step, "id": announcement.id, "text": announcement.text,
                        "priority": announcement.priority, "played": False,
                        "reason": str(exc)}, result="failed")
            return False
        jobs[announcement.id] = job
        self._quiet.clear()
        self.events.append_soon(  # after it has gone out, when the queue is empty
            "announcement", visit_id=visit_id, device_id=intercom_id,
            detail={"step": step, "id": announcement.id, "text": announcement.text,
                    "priority": announcement.priority, "waiting": len(queue) - 1},
            result="queued")
        if intercom_id in self._working:
            return await asyncio.shield(job.done)
        self._working.add(intercom_id)
        if self.duck.get(intercom_id):
            self._workers.spawn(self._work(intercom_id), intercom_id)
            return await asyncio.shield(job.done)
        # Nothing playing or waiting, nothing to turn down: said from the caller's own task,
        # one task hop less between a press and its words (README, "Performance"); the
        # intercom counts as busy meanwhile, so what comes now queues behind it.
        try:
            # Others due at this same moment (several cues overdue at once) queue in this
            # turn of the loop: then they are all said by priority, by a worker.
            await asyncio.sleep(0)
            if len(queue) == 1:
                queue.pop()  # this one: the only one there
                await self._one(intercom_id, queue, jobs, job)
        finally:
            self._working.discard(intercom_id)
            if len(queue) and intercom_id not in self._working:
                self._working.add(intercom_id)
                self._workers.spawn(self._work(intercom_id), intercom_id)
        return await asyncio.shield(job.done)

    def idle(self) -> bool:
        """Nothing queued or playing on any intercom."""
        return not any(self._jobs.values())

    async def wait_idle(self, timeout: float) -> bool:
        """Wait until everything queued has been said (or failed); False on timeout."""
        try:
            await asyncio.wait_for(self._quiet.wait(), timeout)
        except TimeoutError:
            return False
        return True

    def waiting(self, intercom_id: str) -> int:
        queue = self._queues.get(intercom_id)
        return len(queue) if queue is not None else 0

    async def close(self) -> None:
        await self._workers.stop()
        self._working.clear()
        for jobs in self._jobs.values():
            for job in jobs.values():
                if not job.done.done():
                    job.done.set_result(False)

    # --- one worker per intercom -----------------------------------------------------------

    async def _work(self, intercom_id: str) -> None:
        """Say what is queued, one at a time; when none is left, the music back up, and
        the worker ends (the next announcement on an idle intercom is said by its caller)."""
        queue, jobs = self._queues[intercom_id], self._jobs[intercom_id]
        try:
            while True:
                a = queue.pop()
                if a is None:
                    await self._unduck(intercom_id)
                    if len(queue):  # one came while the music was turned back up
                        continue
                    return
                await self._one(intercom_id, queue, jobs, jobs[a.id])
        finally:
            self._working.discard(intercom_id)

    async def _one(self, intercom_id: str, queue: AnnouncementQueue, jobs: dict[str, _Job],
                   job: _Job) -> None:
        """Say one announcement, popped from the queue, and tell its waiters."""
        a = job.announcement
        try:
            if self._expired(intercom_id, job):
                ok = False
            else:
                await self._duck(intercom_id, job.visit_id)
                ok = await self._play(intercom_id, a, visit_id=job.visit_id, step=job.step)
        except asyncio.CancelledError:
            queue.finish(a.id, ok=False)
            jobs.pop(a.id, None)
            if not job.done.done():
                job.done.set_result(False)
            raise
        except Exception as exc:  # a worker must outlive any one announcement
            log.exception("announcement %s on %s failed", a.id, intercom_id)
            self.events.append(
                "alert", visit_id=job.visit_id, device_id=intercom_id,
                detail={"step": job.step, "id": a.id, "reason": str(exc)}, result="failed")
            ok = False
            self.metrics.announced(intercom_id, played=False)
        queue.finish(a.id, ok=ok)
        jobs.pop(a.id, None)
        if self.idle():
            self._quiet.set()
        if not job.done.done():
            job.done.set_result(ok)

    def _expired(self, intercom_id: str, job: _Job) -> bool:
        """Whether `job` waited past its deadline: if so it is logged, and not said."""
        if job.until is None or self.clock() <= job.until + self.expiry_grace:
            return False
        a = job.announcement
        log.info("%s: %s not said: its moment passed at %s while it waited", intercom_id,
                 a.id, job.until.isoformat())
        self.events.append_soon(
            "announcement", visit_id=job.visit_id, device_id=intercom_id,
            detail={"step": job.step, "id": a.id, "text": a.text, "priority": a.priority,
                    "run_until": job.until.isoformat(), "played": False}, result="expired")
        return True

    async def _play(self, intercom_id: str, announcement: Announcement, *,
                    visit_id: str | None, step: str) -> bool:
        """Have the intercom say it now, and log whether it was played."""
        intercom = self.registry.get(intercom_id, Intercom)
        with in_step(step):
            result = await intercom.announce(announcement)
        self.metrics.announced(intercom_id, played=result.ok)
        self.events.append_soon(
            "announcement", visit_id=visit_id, device_id=intercom_id,
            detail={"step": step, "id": announcement.id, "text": announcement.text,
                    "priority": announcement.priority, "played": result.ok,
                    "attempts": result.attempts},
            result="played" if result.ok else "failed",
        )
        return result.ok

    # --- ducking --------------------------------------------------------------------------

    async def _duck(self, intercom_id: str, visit_id: str | None) -> None:
        levels = self.duck.get(intercom_id)
        if not levels or intercom_id in self._ducked:
            return
        self._ducked.add(intercom_id)
        jobs = []
        for media_id, level in levels.items():
            player = self.registry.get(media_id, MediaPlayer)
            if self.registry[media_id].available is False:
                continue  # an offline player is not playing anything to duck
            current = self.writer.effective(media_id).get(VOLUME, player.state.get(VOLUME))
            target = min(level, current) if isinstance(current, int) else level
            jobs.append(self.writer.apply(
                duck_layer(intercom_id), DUCK_PRIORITY, media_id, {VOLUME: target},
                hold=False, visit_id=visit_id, step="duck"))
        if not jobs:
            return
        # The announcement waits for the music only so long; the commands finish anyway.
        ducking = self._workers.spawn(_all(jobs), f"duck:{intercom_id}")
        done, _ = await asyncio.wait({ducking}, timeout=DUCK_WAIT_S)
        if not done:
            log.warning("%s: the music did not turn down within %g s; speaking anyway",
                        intercom_id, DUCK_WAIT_S)

    async def _unduck(self, intercom_id: str) -> None:
        if intercom_id not in self._ducked:
            return
        self._ducked.discard(intercom_id)
        await self.writer.release([duck_layer(intercom_id)], visit_id=None, step="unduck")


async def _all(jobs: list[Coroutine[Any, Any, list[CommandResult]]]) -> None:
    await asyncio.gather(*jobs)
