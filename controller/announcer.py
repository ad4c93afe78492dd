"""Announcements, one at a time per intercom, by priority, with the music ducked meanwhile.

Every announcement of vipctl (a scene's cue, a reminder, `vipctl say`) comes through here.
Each intercom has a queue: the highest priority goes first, in order of arrival within one
(the AnnouncementQueue the gateways use), and one worker sends them one by one, each waiting
until the intercom reports it played (Executor.play_announcement, which logs whether it was
played). A device's own lock would serve callers in arrival order; the queue is what lets an
urgent announcement overtake waiting ones. One being spoken is never cut off.

While an intercom speaks, the media devices its `duck:` names are turned down, through the
claim table (a layer of its own, above every scene), so that a hold on the music's volume
does not fight the ducking, and releasing the layer brings back whatever the volume should be
then. A duck left behind by a crash is dropped at start-up.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from controller.tasks import cancel_all
from devices.conventions.vipctl_intercom import AnnouncementQueue
from devices.model import VOLUME, Announcement

if TYPE_CHECKING:
    from controller.executor import Executor

log = logging.getLogger(__name__)

# Above the scenes (50) and the manual overrides (1000): while someone speaks, the music is low.
DUCK_PRIORITY = 2000
# How long an announcement waits for the music to turn down before it goes out anyway.
DUCK_WAIT_S = 1.0


def duck_layer(intercom_id: str) -> str:
    return f"duck:{intercom_id}"


@dataclass(slots=True)
class _Job:
    announcement: Announcement
    visit_id: str | None
    step: str
    done: asyncio.Future[bool]


class Announcer:
    def __init__(self, executor: Executor, *,
                 duck: Mapping[str, Mapping[str, int]] | None = None) -> None:
        """`duck`: intercom id → {media device id: volume while it speaks}."""
        self.executor = executor
        self.duck = {i: dict(m) for i, m in (duck or {}).items()}
        self._queues: dict[str, AnnouncementQueue] = {}
        self._jobs: dict[str, dict[str, _Job]] = {}
        self._wake: dict[str, asyncio.Event] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._ducked: set[str] = set()
        self._quiet = asyncio.Event()  # set whenever nothing is queued or playing
        self._quiet.set()
        self._drop_stale_ducks()

    async def say(self, intercom_id: str, announcement: Announcement, *,
                  visit_id: str | None, step: str) -> bool:
        """Queue `announcement` and wait until it was played (True) or failed (False)."""
        self.executor.registry[intercom_id]  # an unknown intercom fails here, not in a worker
        jobs = self._jobs.setdefault(intercom_id, {})
        queue = self._queues.setdefault(intercom_id, AnnouncementQueue())
        known = jobs.get(announcement.id)
        if known is not None:  # the same announcement asked twice: one playing, both told
            return await asyncio.shield(known.done)
        job = _Job(announcement, visit_id, step, asyncio.get_running_loop().create_future())
        try:
            queue.push(announcement)
        except ValueError as exc:  # 100 waiting: a flood must not delay speech for hours
            self.executor.events.append(
                "announcement", visit_id=visit_id, device_id=intercom_id,
                detail={"step": step, "id": announcement.id, "text": announcement.text,
                        "priority": announcement.priority, "played": False,
                        "reason": str(exc)}, result="failed")
            return False
        jobs[announcement.id] = job
        self._quiet.clear()
        self.executor.events.append_soon(  # after it has gone out, when the queue is empty
            "announcement", visit_id=visit_id, device_id=intercom_id,
            detail={"step": step, "id": announcement.id, "text": announcement.text,
                    "priority": announcement.priority, "waiting": len(queue) - 1},
            result="queued")
        self._wake.setdefault(intercom_id, asyncio.Event()).set()
        if intercom_id not in self._workers:
            self._workers[intercom_id] = asyncio.create_task(
                self._work(intercom_id), name=f"announcer:{intercom_id}")
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
        await cancel_all(list(self._workers.values()))
        self._workers.clear()
        for jobs in self._jobs.values():
            for job in jobs.values():
                if not job.done.done():
                    job.done.set_result(False)

    # --- one worker per intercom -----------------------------------------------------------

    async def _work(self, intercom_id: str) -> None:
        queue, jobs, wake = (self._queues[intercom_id], self._jobs[intercom_id],
                             self._wake[intercom_id])
        while True:
            a = queue.pop()
            if a is None:
                await self._unduck(intercom_id)
                if len(queue):  # one came while the music was turned back up
                    continue
                wake.clear()
                await wake.wait()
                continue
            job = jobs[a.id]
            try:
                await self._duck(intercom_id, job.visit_id)
                ok = await self.executor.play_announcement(
                    intercom_id, a, visit_id=job.visit_id, step=job.step)
            except Exception as exc:  # a worker must outlive any one announcement
                log.exception("announcement %s on %s failed", a.id, intercom_id)
                self.executor.events.append(
                    "alert", visit_id=job.visit_id, device_id=intercom_id,
                    detail={"step": job.step, "id": a.id, "reason": str(exc)}, result="failed")
                ok = False
            queue.finish(a.id, ok=ok)
            del jobs[a.id]
            if self.idle():
                self._quiet.set()
            if not job.done.done():
                job.done.set_result(ok)

    # --- ducking --------------------------------------------------------------------------

    async def _duck(self, intercom_id: str, visit_id: str | None) -> None:
        levels = self.duck.get(intercom_id)
        if not levels or intercom_id in self._ducked:
            return
        self._ducked.add(intercom_id)
        jobs = []
        for media_id, level in levels.items():
            device = self.executor.registry[media_id]
            if device.available is False:
                continue  # an offline player is not playing anything to duck
            current = self.executor.claims.effective(media_id).get(VOLUME,
                                                                   device.state.get(VOLUME))
            target = min(level, current) if isinstance(current, int) else level
            jobs.append(self.executor.apply(
                duck_layer(intercom_id), DUCK_PRIORITY, media_id, {VOLUME: target},
                hold=False, visit_id=visit_id, step="duck"))
        if not jobs:
            return
        # The announcement waits for the music only so long; the commands finish anyway.
        ducking = asyncio.ensure_future(asyncio.gather(*jobs))
        done, _ = await asyncio.wait({ducking}, timeout=DUCK_WAIT_S)
        if not done:
            log.warning("%s: the music did not turn down within %g s; speaking anyway",
                        intercom_id, DUCK_WAIT_S)

    async def _unduck(self, intercom_id: str) -> None:
        if intercom_id not in self._ducked:
            return
        self._ducked.discard(intercom_id)
        await self.executor.release([duck_layer(intercom_id)], visit_id=None, step="unduck")

    def _drop_stale_ducks(self) -> None:
        # A crash while ducked leaves the layer in the saved claims: drop it before the
        # start-up re-assertion sets every device to its effective state.
        claims = self.executor.claims
        stale = sorted(layer for layer in claims.layers() if layer.startswith(duck_layer("")))
        for layer in stale:
            claims.release(layer)
        if stale:
            log.info("dropped %s, left from before the restart", ", ".join(stale))
            self.executor._save()  # the executor owns where the claims are kept
