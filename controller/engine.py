"""The reception engine: visits on a schedule, triggers, cues, holds and the restore.

The database is the truth. `reconcile(visit)` looks at a visit as stored (its start, the
times its triggers happened, the steps already done) and makes the scheduler match: jobs
for what is still ahead, an immediate run (or a recorded skip) for what is overdue. It is
called at start-up for every open visit and after every change, so a restart, a move or a
trigger all take the same path, and the ledger makes each step happen once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from controller.events import EventLog
from controller.executor import Executor
from controller.ledger import StepLedger
from controller.presses import PressGate
from controller.tasks import cancel_all
from controller.visits import (
    FREE,
    OPEN,
    IllegalTransition,
    Visit,
    VisitBook,
    VisitRequest,
    VisitStatus,
)
from scenes.model import Cue, Scene
from scenes.timeline import announcements, lateness_decision, plan, plan_holds, restore_time
from scenes.timeline import preparation as preparation_cues

log = logging.getLogger(__name__)

S = VisitStatus
TRIGGERS = ("arrival", "show_flat", "departure")
# trigger → the status it moves a visit to
TRIGGER_STATUS = {"arrival": S.ARRIVED, "show_flat": S.AT_SHOW_FLAT, "departure": S.DEPARTING}
STATUS_TRIGGER = {v: k for k, v in TRIGGER_STATUS.items()}
# How long before its start a booked visit counts as "the next one" for an arrival press
# (a guest a little early), at speed 1.
ARRIVAL_WINDOW = timedelta(hours=2)
# Visits on the scheduler reach this far ahead (real time, plus the scene's lead before a
# start); a sweep every HORIZON_SWEEP brings later ones in as they come within reach. A year
# of bookings would otherwise be tens of thousands of timers and a minute of start-up
# (bench/: 10,000 visits took 86 s). The database stays the truth either way.
HORIZON = timedelta(hours=24)
HORIZON_SWEEP = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class TriggerResult:
    trigger: str
    visit_id: str | None
    accepted: bool
    message: str


class Engine:
    def __init__(
        self,
        *,
        scene: Scene,
        executor: Executor,
        book: VisitBook,
        ledger: StepLedger,
        events: EventLog,
        tz: ZoneInfo,
        clock: Callable[[], datetime],
        speed: float = 1.0,
    ) -> None:
        self.scene = scene
        self.executor = executor
        self.book = book
        self.ledger = ledger
        self.events = events
        self.tz = tz
        self.clock = clock
        self.speed = speed
        self.layer_priority = scene.priority
        self.scheduler = AsyncIOScheduler(timezone=tz)
        self._running: set[asyncio.Task[Any]] = set()
        # Steps run side by side (a cue waiting for an announcement to be played must not
        # hold up the lights); only a visit's restore waits for its steps in flight.
        self._in_flight: dict[str, int] = {}
        self._settled: dict[str, asyncio.Event] = {}
        self._current: str | None = None
        self.presses = PressGate()
        self._reach: datetime | None = None  # visits starting before it are scheduled
        self._jobs: dict[str, set[str]] = {}  # visit id → its scheduler job ids
        executor.current_visit = lambda: self._current

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the scheduler (inside the running loop, as APScheduler requires) and rebuild."""
        self.scheduler.start()
        for entry in self.scene.baseline:
            await self.executor.baseline(entry.target, entry.state.as_state())
        self._reach = self._horizon()
        for visit in self.open_visits(until=self._reach):
            await self.reconcile(visit)
        self.scheduler.add_job(self._sweep, "interval", seconds=HORIZON_SWEEP.total_seconds(),
                               id="vipctl:horizon", replace_existing=True, coalesce=True)
        self._spawn(self._reassert_when_heard())

    def _horizon(self) -> datetime:
        """Visits starting before this are put on the scheduler now."""
        offsets = [c.at.offset for c in self.scene.cues if c.at.anchor == "start"]
        offsets += [h.start.offset for h in self.scene.holds if h.start.anchor == "start"]
        lead = max([timedelta(0), *(-offset for offset in offsets)]) / self.speed
        return self.now() + HORIZON + lead

    async def _sweep(self) -> None:
        """Schedule the visits that have come within reach since the last sweep."""
        reach, self._reach = self._reach, self._horizon()
        for visit in self.book.list(since=reach, until=self._reach, statuses=OPEN):
            await self.reconcile(visit)

    async def _reassert_when_heard(self) -> None:
        """After a (re)start: once the devices have answered the state query, bring every
        claimed or baseline device back to what it should be."""
        devices = list(self.executor.registry.devices.values())
        await asyncio.gather(*(d.wait_reported(d.policy.confirm_timeout) for d in devices))
        await self.executor.reassert_all()

    async def stop(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        await cancel_all(list(self._running))

    def open_visits(self, until: datetime | None = None) -> list[Visit]:
        """Visits not yet over (starting before `until`), selected in the database: a
        year of finished and future bookings is never loaded for one press."""
        return self.book.list(until=until, statuses=OPEN)

    def now(self) -> datetime:
        return self.clock()

    # --- visits -----------------------------------------------------------------------------

    async def book_visit(self, request: VisitRequest, *, source: str) -> Visit:
        visit = self.book.book(request, source)
        self.events.append("visit", visit_id=visit.id, source=source,
                           detail={"action": "booked", "start": visit.start.isoformat(),
                                   "guest": visit.salutation}, result="ok")
        await self.reconcile(visit)
        return visit

    async def move_visit(
        self, visit_id: str, start: datetime, duration: timedelta | None, *, source: str
    ) -> Visit:
        visit = self.book.move(visit_id, start, duration)
        self.events.append("visit", visit_id=visit.id, source=source,
                           detail={"action": "moved", "start": visit.start.isoformat()},
                           result="ok")
        await self.reconcile(visit)
        return visit

    async def cancel_visit(self, visit_id: str, reason: str, *, source: str) -> Visit:
        before = self.book.get(visit_id)
        visit = self.book.cancel(visit_id, reason)
        self._unschedule(visit_id)
        self.events.append("visit", visit_id=visit_id, source=source,
                           detail={"action": "cancelled", "reason": reason}, result="ok")
        if before.status is not S.BOOKED or self.ledger.done(visit_id):
            await self._restore(visit_id, why="cancelled")
        return visit

    async def vip_now(self, request: VisitRequest, *, source: str) -> Visit:
        """An unbooked visit: the preparation runs at once, in order, then arrival is awaited."""
        visit = self.book.book(request.model_copy(update={"start": self.now()}), source)
        self.events.append("visit", visit_id=visit.id, source=source,
                           detail={"action": "vip-now", "guest": visit.salutation}, result="ok")
        for cue in preparation_cues(self.scene):
            await self._run_cue(visit.id, cue.id, force=True)
        await self.reconcile(self.book.get(visit.id))
        return self.book.get(visit.id)

    # --- triggers ---------------------------------------------------------------------------

    def engaged(self) -> list[Visit]:
        """Visits whose guest is on site and not yet leaving (one, by P1)."""
        return self.book.list(statuses=(S.ARRIVED, S.AT_SHOW_FLAT))

    def target_for(self, trigger: str, engaged: list[Visit] | None = None) -> Visit | None:
        """The visit a trigger without a visit id means (`engaged`: if just read)."""
        engaged = self.engaged() if engaged is None else engaged
        if engaged:
            return engaged[0]
        now = self.now()
        if trigger == "arrival":
            return self.book.nearest(now, ahead=ARRIVAL_WINDOW / self.speed,
                                     statuses=(S.BOOKED, S.PREPARING))
        if trigger == "departure":  # a guest leaving before the show flat, or pressed twice
            leaving = self.book.list(statuses=(S.DEPARTING,))
            return leaving[0] if leaving else None
        return None

    async def trigger(self, trigger: str, *, source: str, visit_id: str | None = None,
                      ) -> TriggerResult:
        """arrival / show_flat / departure, from a button, the API or the CLI: one path."""
        if trigger not in TRIGGERS:
            raise ValueError(f"{trigger!r} is not a trigger; triggers are {', '.join(TRIGGERS)}")
        engaged = self.engaged()
        visit = self.book.get(visit_id) if visit_id else self.target_for(trigger, engaged)
        if visit is None:
            message = f"no visit to apply {trigger} to"
            self.events.append("trigger", source=source, detail={"trigger": trigger,
                               "message": message}, result="ignored")
            return TriggerResult(trigger, None, False, message)
        others = [v for v in engaged if v.id != visit.id]
        if others:
            message = (f"{visit.id} ({visit.salutation}) is not the current visit; "
                       f"{others[0].id} ({others[0].salutation}) is")
            return self._refuse(trigger, visit, source, message)
        if visit.status in FREE:
            return self._refuse(trigger, visit, source,
                                f"{visit.id} is {visit.status.value}; nothing to do")
        done_at = visit.entered.get(TRIGGER_STATUS[trigger])
        if done_at is not None:
            message = (f"{trigger} for {visit.salutation} was already done at "
                       f"{done_at.astimezone(self.tz):%H:%M:%S}; nothing repeated")
            return self._refuse(trigger, visit, source, message)
        busy = self.presses.refusal(trigger, visit.id)
        if busy is not None:  # pressed twice, or by two people at once
            return self._refuse(trigger, visit, source, busy)
        self.presses.begin(trigger, visit.id, source)
        try:
            return await self._carry_out(trigger, visit, source)
        finally:
            self.presses.end(trigger, visit.id)

    async def _carry_out(self, trigger: str, visit: Visit, source: str) -> TriggerResult:
        try:
            if trigger == "arrival" and visit.status is S.BOOKED:
                # The guest came before the preparation: do it now, before the welcome.
                self.book.set_status(visit.id, S.PREPARING)
                for cue in preparation_cues(self.scene):  # reminders would be stale
                    await self._run_cue(visit.id, cue.id, force=True, speak=False)
            # Committed with the steps it starts, once their announcement has gone out
            # (Database.defer). A crash in those milliseconds loses the press, status and
            # steps together: nothing is repeated on its own, and the press can be made again.
            visit = self.book.set_status(visit.id, TRIGGER_STATUS[trigger], defer=True)
        except IllegalTransition as exc:
            message = f"{trigger} cannot follow {exc.from_status.value} for {visit.salutation}"
            return self._refuse(trigger, visit, source, message)
        # Written with the next device events, after the announcement has gone out.
        self.events.append_soon("trigger", visit_id=visit.id, source=source,
                                detail={"trigger": trigger, "guest": visit.salutation},
                                result="ok")
        self._current = visit.id
        await self.reconcile(visit, pressed=trigger)
        return TriggerResult(trigger, visit.id, True, f"{trigger}: {visit.salutation}")

    def _refuse(self, trigger: str, visit: Visit, source: str, message: str) -> TriggerResult:
        self.events.append("trigger", visit_id=visit.id, source=source,
                           detail={"trigger": trigger, "message": message}, result="ignored")
        return TriggerResult(trigger, visit.id, False, message)

    # --- the schedule -----------------------------------------------------------------------

    def triggers_of(self, visit: Visit) -> dict[str, datetime]:
        return {STATUS_TRIGGER[s]: at for s, at in visit.entered.items() if s in STATUS_TRIGGER}

    async def reconcile(self, visit: Visit, *, pressed: str | None = None) -> None:
        """Make the scheduler match the stored visit: schedule what's ahead, run what's due.

        `pressed`: the trigger that just happened; the cues it sets off claim their step
        with it (deferred, see _carry_out), the others before they act."""
        self._unschedule(visit.id)
        if visit.status in FREE:
            return
        if self._reach is not None and visit.start >= self._reach:
            return  # beyond the horizon: a later sweep schedules it
        now = self.now()
        triggers = self.triggers_of(visit)
        done = self.ledger.done(visit.id)
        overdue: list[str] = []
        pressed_now: list[str] = []
        for planned in plan(self.scene, start=visit.start, triggers=triggers, speed=self.speed):
            if planned.due is None or planned.cue.id in done:
                continue
            if planned.due > now:
                self._at(planned.due, visit.id, planned.cue.id)
            elif pressed is not None and planned.cue.at.anchor == pressed:
                pressed_now.append(planned.cue.id)
            elif lateness_decision(planned, now) == "run":
                overdue.append(planned.cue.id)
            elif self.ledger.claim(visit.id, planned.cue.id):
                self.ledger.mark(visit.id, planned.cue.id, "skipped-late")
                self.events.append("cue", visit_id=visit.id, detail={
                    "cue": planned.cue.id, "due": planned.due.isoformat(),
                    "message": "stale: skipped"}, result="skipped")
        for ph in plan_holds(self.scene, start=visit.start, triggers=triggers, speed=self.speed):
            key = f"hold:{ph.hold.id}"
            if ph.begins is None or key in done:
                continue
            if ph.begins > now:
                self._at(ph.begins, visit.id, key)
            else:
                overdue.append(key)
        if visit.status in (S.BOOKED, S.PREPARING) and "no-show" not in done:
            # Nobody came by the booked end: a no-show, and the site goes back to normal.
            if visit.end > now:
                self._at(visit.end, visit.id, "no-show")
            else:
                overdue.append("no-show")
        restore_at = restore_time(self.scene, start=visit.start, triggers=triggers,
                                  speed=self.speed)
        if restore_at is not None and "restore" not in done:
            if restore_at > now:
                self._at(restore_at, visit.id, "restore")
            else:
                overdue.append("restore")
        for key in pressed_now:
            self._spawn(self.step(visit.id, key, pressed=True))
        for key in overdue:
            self._spawn(self.step(visit.id, key))

    def _at(self, when: datetime, visit_id: str, key: str) -> None:
        job_id = f"{visit_id}|{key}"
        self.scheduler.add_job(
            self.step, "date", run_date=when, args=[visit_id, key], id=job_id,
            replace_existing=True, misfire_grace_time=None, coalesce=True,
        )
        self._jobs.setdefault(visit_id, set()).add(job_id)

    def _unschedule(self, visit_id: str) -> None:
        for job_id in self._jobs.pop(visit_id, ()):
            with contextlib.suppress(JobLookupError):  # it has run
                self.scheduler.remove_job(job_id)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    # --- steps ------------------------------------------------------------------------------

    async def step(self, visit_id: str, key: str, *, pressed: bool = False) -> None:
        """One scheduled step of a visit: a cue, a hold beginning, or the restore
        (`pressed`: a cue a trigger has just set off)."""
        try:
            visit = self.book.get(visit_id)
            if visit.status in FREE:
                return
            if key == "restore":
                await self._restore(visit_id, why="visit over")
            elif key == "no-show":
                await self._no_show(visit)
            elif key.startswith("hold:"):
                await self._begin_hold(visit, key)
            else:
                await self._run_cue(visit_id, key, pressed=pressed)
        except Exception:  # a step must never take the scheduler down
            log.exception("step %s of %s failed", key, visit_id)
            self.events.append("alert", visit_id=visit_id,
                               detail={"step": key, "message": "step crashed; see the log"},
                               result="failed")

    def _cue(self, cue_id: str) -> Cue:
        return next(c for c in self.scene.cues if c.id == cue_id)

    def _enter(self, visit_id: str) -> None:
        self._in_flight[visit_id] = self._in_flight.get(visit_id, 0) + 1
        self._settled.setdefault(visit_id, asyncio.Event()).clear()

    def _leave(self, visit_id: str) -> None:
        left = self._in_flight[visit_id] - 1
        if left:
            self._in_flight[visit_id] = left
        else:
            del self._in_flight[visit_id]
            self._settled[visit_id].set()

    async def _run_cue(self, visit_id: str, cue_id: str, *, force: bool = False,
                       speak: bool = True, pressed: bool = False) -> None:
        """One cue, once per visit. `speak=False`: the actions only (the guest is here).
        `pressed`: set off by a trigger, its claim is committed with the trigger's."""
        # The claim is committed before the cue acts: with the device claims its first
        # action saves (one commit), or alone for a cue that only speaks; a pressed cue's
        # with its press, just after (see _carry_out).
        if not self.ledger.claim(visit_id, cue_id, defer=True):
            return
        if "restore" in self.ledger.done(visit_id):  # the visit is over: claim nothing
            self.ledger.mark(visit_id, cue_id, "skipped-late")
            return
        cue = self._cue(cue_id)
        # The restore waits for the claims of steps in flight, not for their announcements
        # (spoken, they take seconds each and queue on the intercom).
        self._enter(visit_id)
        try:
            visit, ok = await self._cue_actions(visit_id, cue, force=force)
        finally:
            self._leave(visit_id)
        if not pressed and not cue.actions:
            self.ledger.commit()  # nothing saved the claim yet: before anything is said
        await self._cue_words(visit, cue, ok, speak=speak)

    async def _cue_actions(self, visit_id: str, cue: Cue, *, force: bool) -> tuple[Visit, bool]:
        visit = self.book.get(visit_id)
        if visit.status is S.BOOKED:  # committed with the cue's claim
            visit = self.book.set_status(visit_id, S.PREPARING, defer=True)
        self._current = self._current or visit_id
        self.events.append_soon("cue", visit_id=visit_id, detail={
            "cue": cue.id, "description": cue.description, "forced": force}, result="started")
        ok = True
        for action in cue.actions:
            results = await self.executor.apply(
                self.layer(visit_id), self.layer_priority, action.target,
                action.state.as_state(), hold=False, visit_id=visit_id, step=cue.id)
            ok = ok and all(r.ok for r in results)
        return visit, ok

    async def _cue_words(self, visit: Visit, cue: Cue, ok: bool, *, speak: bool) -> None:
        visit_id = visit.id
        said = announcements(self.scene, cue, self.guest(visit), key=visit_id)
        if said and not speak:
            self.events.append("cue", visit_id=visit_id, detail={
                "cue": cue.id, "message": "the guest is already here: not said",
                "texts": [a.text for _, a in said]}, result="skipped")
            said = []
        for intercom, announcement in said:
            ok = await self.executor.announce(intercom, announcement, visit_id=visit_id,
                                              step=cue.id) and ok
        self.ledger.mark(visit_id, cue.id, "ok" if ok else "failed")
        self.events.append_soon("cue", visit_id=visit_id, detail={"cue": cue.id},
                                result="ok" if ok else "failed")

    async def _no_show(self, visit: Visit) -> None:
        if visit.status not in (S.BOOKED, S.PREPARING) or not self.ledger.claim(visit.id,
                                                                                "no-show"):
            return
        self.book.set_status(visit.id, S.NO_SHOW)
        self.ledger.mark(visit.id, "no-show", "ok")
        self.events.append("visit", visit_id=visit.id, detail={
            "action": "no-show", "guest": visit.salutation,
            "message": "nobody arrived by the booked end"}, result="ok")
        await self._restore(visit.id, why="no-show")

    async def _begin_hold(self, visit: Visit, key: str) -> None:
        if not self.ledger.claim(visit.id, key):
            return
        if "restore" in self.ledger.done(visit.id):
            self.ledger.mark(visit.id, key, "skipped-late")
            return
        self._enter(visit.id)
        try:
            hold = next(h for h in self.scene.holds if f"hold:{h.id}" == key)
            results = await self.executor.apply(
                self.hold_layer(visit.id), self.layer_priority, hold.target,
                hold.state.as_state(), hold=True, visit_id=visit.id, step=key)
            ok = all(r.ok for r in results)
            self.ledger.mark(visit.id, key, "ok" if ok else "failed")
        finally:
            self._leave(visit.id)

    async def _restore(self, visit_id: str, *, why: str) -> None:
        # Its writes are deferred (Database.defer) and commit together: a restore often
        # follows the departure press at once, and must not hold up its announcement. One
        # lost in a crash runs again at start-up, and releasing twice changes nothing.
        if not self.ledger.claim(visit_id, "restore", defer=True):
            return
        if self._in_flight.get(visit_id):
            await self._settled[visit_id].wait()  # let steps in flight finish their claims
        commands, unknown = await self.executor.release(
            [self.layer(visit_id), self.hold_layer(visit_id)], visit_id=visit_id,
            step="restore", fallback=self.scene.restore.fallback(), defer_save=True)
        self.ledger.mark(visit_id, "restore", "ok")
        detail: dict[str, Any] = {"why": why, "commands": commands}
        if unknown:
            # Honest about what could not be put back: nobody knows what it was.
            detail["left_as_is"] = unknown
        self.events.append_soon("restore", visit_id=visit_id, detail=detail, result="ok")
        visit = self.book.get(visit_id)
        if visit.status is S.DEPARTING:
            self.book.set_status(visit_id, S.DONE, defer=True)
        if self._current == visit_id:
            self._current = None
        self._unschedule(visit_id)

    # --- helpers ----------------------------------------------------------------------------

    @staticmethod
    def layer(visit_id: str) -> str:
        return f"visit:{visit_id}"

    @staticmethod
    def hold_layer(visit_id: str) -> str:
        """Holds claim in a layer of their own, so a cue's plain claim cannot unhold them."""
        return f"visit:{visit_id}:holds"

    def guest(self, visit: Visit) -> dict[str, str]:
        return {
            "surname": visit.surname, "honorific": visit.honorific,
            "title": visit.title or "", "full_name": visit.full_name or visit.surname,
            "party_size": str(visit.party_size), "car_plate": visit.car_plate or "",
        }
