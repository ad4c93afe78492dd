"""The reception engine: visits on a schedule, triggers, cues, holds and the restore.

The database is the truth. `reconcile(visit)` looks at a visit as stored (its start, the
times its triggers happened, the steps already done) and makes the scheduler match: jobs
for what is still ahead, an immediate run (or a recorded skip) for what is overdue. It is
called at start-up for every open visit and after every change, so a restart, a move or a
trigger all take the same path, and the ledger makes each step happen once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from common.tasks import TaskSet
from controller.engine.announcer import Announcer
from controller.engine.context import CurrentVisit
from controller.engine.executor import Executor
from controller.engine.metrics import Metrics
from controller.engine.preflight import STEP as PREFLIGHT
from controller.engine.preflight import Preflight
from controller.engine.presses import PressGate
from controller.engine.steps import Steps
from controller.engine.timers import Timers
from controller.store.book import VisitBook
from controller.store.events import EventLog
from controller.store.ledger import StepLedger
from controller.store.requests import VisitRequest
from controller.store.visits import FREE, OPEN, IllegalTransition, Visit, VisitStatus
from scenes.model import Cue, Scene
from scenes.timeline import announcements, lateness_decision, plan, plan_holds, restore_time
from scenes.timeline import preparation as preparation_cues

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

S = VisitStatus
TRIGGERS = ("arrival", "show_flat", "departure")
# trigger → the status it moves a visit to
TRIGGER_STATUS = {"arrival": S.ARRIVED, "show_flat": S.AT_SHOW_FLAT, "departure": S.DEPARTING}
STATUS_TRIGGER = {v: k for k, v in TRIGGER_STATUS.items()}
# How long before its start a booked visit counts as "the next one" for an arrival press
# (a guest a little early), at speed 1.
ARRIVAL_WINDOW = timedelta(hours=2)
# An arrival pressed for no visit in particular longer than this before the next visit's
# start is more likely meant for another visit (the one leaving, say) than a guest that
# early: it waits for a confirmation (on the page: `confirmed=True`) instead of welcoming the
# next guest on one press. A caller that names the visit has said which guest is here.
ARRIVAL_CONFIRM_AHEAD = timedelta(hours=1)
# Visits on the scheduler reach this far ahead (real time, plus the scene's lead before a
# start); a sweep every HORIZON_SWEEP brings later ones in as they come within reach. A year
# of bookings would otherwise be tens of thousands of timers and a minute of start-up
# (bench/: 10,000 visits took 86 s). The database stays the truth either way.
HORIZON = timedelta(hours=24)
HORIZON_SWEEP = timedelta(hours=1)
# Steps run again when a crash cut them short (Engine._interrupted says why).
RERUN_AFTER_CRASH = frozenset({"restore", "no-show", PREFLIGHT})
# A step to run now and the time it was due: (key, due).
Due = tuple[str, datetime]


@dataclass(frozen=True, slots=True)
class TriggerResult:
    trigger: str
    visit_id: str | None
    accepted: bool
    message: str
    needs_confirmation: bool = False


class Engine:
    def __init__(
        self,
        *,
        scene: Scene,
        executor: Executor,
        announcer: Announcer,
        book: VisitBook,
        ledger: StepLedger,
        events: EventLog,
        tz: ZoneInfo,
        clock: Callable[[], datetime],
        speed: float = 1.0,
        current: CurrentVisit | None = None,
        metrics: Metrics | None = None,
        preflight: Preflight | None = None,
    ) -> None:
        self.scene = scene
        self.executor = executor
        self.book = book
        self.ledger = ledger
        self.events = events
        self.tz = tz
        self.clock = clock
        self.speed = speed
        self.current = current or CurrentVisit()
        self.presses = PressGate()
        self.preflight = preflight
        self.timers = Timers(tz, self._run_step)
        self.steps = Steps(scene=scene, executor=executor, announcer=announcer, book=book,
                           ledger=ledger, events=events, current=self.current,
                           timers=self.timers, metrics=metrics or Metrics(), clock=clock,
                           preflight=preflight)
        self.steps.deadline = self.deadline
        self._tasks = TaskSet("engine", logger=log)
        self._reach: datetime | None = None  # visits starting before it are scheduled

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the scheduler (inside the running loop, as APScheduler requires) and rebuild."""
        self.timers.start()
        for entry in self.scene.baseline:
            await self.executor.baseline(entry.target, entry.state.as_state())
        self._reach = self._horizon()
        closed = self._interrupted()
        visits = self.open_visits(until=self._reach)
        self.ledger.preload(v.id for v in visits)
        if self.preflight is not None:
            self.preflight.preload([v.id for v in visits])
        for visit in visits:
            await self.reconcile(visit)
        for visit_id in closed:  # a no-show or cancelled visit's restore, cut short
            self._tasks.spawn(self.steps.restore(visit_id, why="interrupted"),
                              f"{visit_id}|restore")
        self.timers.every(HORIZON_SWEEP.total_seconds(), self.sweep, "vipctl:horizon")
        self._tasks.spawn(self._reassert_when_heard(), "reassert")

    def _horizon(self) -> datetime:
        """Visits starting before this are put on the scheduler now."""
        offsets = [c.at.offset for c in self.scene.cues if c.at.anchor == "start"]
        offsets += [h.start.offset for h in self.scene.holds if h.start.anchor == "start"]
        lead = max([timedelta(0), *(-offset for offset in offsets)]) / self.speed
        return self.now() + HORIZON + lead

    def _interrupted(self) -> list[str]:
        """Steps the previous process claimed and never finished (it was killed mid-step),
        of any visit: one already over may still have had words waiting on the intercom.

        The restore and the no-show run again: they only release claims, and a visit whose
        restore was cut short would stay half-way for good (departing, its lights held on);
        an open visit's reconcile runs them, and the restores of visits already closed are
        returned. Any other step is not repeated, for it may have spoken already; it is
        marked failed and an alert says so, naming its announcements: one queued on the
        intercom when the process died was lost, and must not be lost silently."""
        closed = []
        for visit_id, key in self.ledger.unfinished():
            visit = self.book.get(visit_id)
            if key in RERUN_AFTER_CRASH:
                self.ledger.forget(visit_id, key)
                if key == "restore" and visit.status in FREE:
                    closed.append(visit_id)
                continue
            self.ledger.mark(visit_id, key, "failed")
            cue = next((c for c in self.scene.cues if c.id == key), None)
            ids = [] if cue is None else [
                a.id for _, a in announcements(self.scene, cue, self.guest(visit), key=visit_id)]
            self.events.append("alert", visit_id=visit_id, detail={
                "step": key, "ids": ids,
                "message": "interrupted by a restart: not repeated; its announcements may "
                           "not have been said"}, result="failed")
        return closed

    async def sweep(self) -> None:
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
        await self.timers.close()
        await self._tasks.stop()
        if self.preflight is not None:
            await self.preflight.close()

    def open_visits(self, until: datetime | None = None) -> list[Visit]:
        """Visits not yet over (starting before `until`), selected in the database: a
        year of finished and future bookings is never loaded for one press."""
        return self.book.list(until=until, statuses=OPEN)

    def now(self) -> datetime:
        return self.clock()

    # --- visits -----------------------------------------------------------------------------

    async def book_visit(self, request: VisitRequest, *, source: str,
                         also: Callable[[Session, Visit], None] | None = None) -> Visit:
        """Book and schedule a visit; `also`: as VisitBook.book's."""
        visit = self.book.book(request, source, also=also)
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
        self.timers.unschedule(visit_id)
        self.events.append("visit", visit_id=visit_id, source=source,
                           detail={"action": "cancelled", "reason": reason}, result="ok")
        if before.status is not S.BOOKED or self.ledger.done(visit_id) - {PREFLIGHT}:
            await self.steps.restore(visit_id, why="cancelled")
        return visit

    async def vip_now(self, request: VisitRequest, *, source: str) -> Visit:
        """An unbooked visit: the preparation runs at once, in order, then arrival is awaited."""
        visit = self.book.book(request.model_copy(update={"start": self.now()}), source)
        self.events.append("visit", visit_id=visit.id, source=source,
                           detail={"action": "vip-now", "guest": visit.salutation}, result="ok")
        for cue in preparation_cues(self.scene):
            await self.steps.run_cue(visit.id, cue.id, force=True)
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

    def early_arrival(self, trigger: str, visit: Visit) -> str | None:
        """Why an arrival for `visit` needs a confirmation now (None: it does not)."""
        if trigger != "arrival" or visit.status not in (S.BOOKED, S.PREPARING):
            return None
        ahead = visit.start - self.now()
        if ahead <= ARRIVAL_CONFIRM_AHEAD / self.speed:
            return None
        minutes = round(ahead.total_seconds() * self.speed / 60)
        return (f"{visit.salutation} is booked for {visit.start.astimezone(self.tz):%H:%M}, "
                f"{minutes} min from now: confirm the early arrival")

    async def trigger(self, trigger: str, *, source: str, visit_id: str | None = None,
                      confirmed: bool = False) -> TriggerResult:
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
        early = None if confirmed or visit_id else self.early_arrival(trigger, visit)
        if early is not None:
            refused = self._refuse(trigger, visit, source, early)
            return replace(refused, needs_confirmation=True)
        self.presses.begin(trigger, visit.id, source)
        try:
            return await self._carry_out(trigger, visit, source)
        finally:
            self.presses.end(trigger, visit.id)

    async def _carry_out(self, trigger: str, visit: Visit, source: str) -> TriggerResult:
        try:
            if trigger == "arrival" and visit.status is S.BOOKED:
                # The guest came before the preparation: it starts now, with the welcome,
                # which does not wait for the air conditioning or the lights to confirm.
                # Claimed here, so that the plan below does not take them as stale.
                self.book.set_status(visit.id, S.PREPARING, defer=True)
                for cue in preparation_cues(self.scene):  # reminders would be stale
                    if self.ledger.claim(visit.id, cue.id, defer=True):
                        self._tasks.spawn(self.steps.run_cue(
                            visit.id, cue.id, force=True, speak=False, claimed=True),
                            f"{visit.id}|{cue.id}")
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
        self.current.id = visit.id
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
        self.timers.unschedule(visit.id)
        if visit.status in FREE or (self._reach is not None and visit.start >= self._reach):
            return  # over, or beyond the horizon (a later sweep schedules it)
        now = self.now()
        triggers = self.triggers_of(visit)
        done = self.ledger.done(visit.id)
        overdue, pressed_now = self._plan_cues(visit, triggers, done, now, pressed)
        for ph in plan_holds(self.scene, start=visit.start, triggers=triggers, speed=self.speed):
            key = f"hold:{ph.hold.id}"
            if ph.begins is not None and key not in done:
                self._due(visit.id, key, ph.begins, now, overdue)
        self._plan_preflight(visit, done, now, overdue)
        if visit.status in (S.BOOKED, S.PREPARING) and "no-show" not in done:
            # Nobody came by the booked end: a no-show, and the site goes back to normal.
            self._due(visit.id, "no-show", visit.end, now, overdue)
        restore_at = restore_time(self.scene, start=visit.start, triggers=triggers,
                                  speed=self.speed)
        if restore_at is not None and "restore" not in done:
            self._due(visit.id, "restore", restore_at, now, overdue)
        for key, due in pressed_now:
            self._tasks.spawn(self.steps.step(visit.id, key, due, pressed=True),
                              f"{visit.id}|{key}")
        for key, due in overdue:
            self._tasks.spawn(self.steps.step(visit.id, key, due), f"{visit.id}|{key}")

    def _plan_cues(self, visit: Visit, triggers: dict[str, datetime], done: set[str],
                   now: datetime, pressed: str | None) -> tuple[list[Due], list[Due]]:
        """Schedule the cues ahead; return those overdue and still worth running, and those
        the press sets off, each with its due time. A stale one is recorded as skipped."""
        overdue: list[Due] = []
        pressed_now: list[Due] = []
        for planned in plan(self.scene, start=visit.start, triggers=triggers, speed=self.speed):
            cue_id = planned.cue.id
            if planned.due is None or cue_id in done:
                continue
            if planned.due > now:
                self.timers.at(planned.due, visit.id, cue_id)
            elif pressed is not None and planned.cue.at.anchor == pressed:
                pressed_now.append((cue_id, planned.due))
            elif lateness_decision(planned, now) == "run":
                overdue.append((cue_id, planned.due))
            elif self.ledger.claim(visit.id, cue_id):
                self.ledger.mark(visit.id, cue_id, "skipped-late")
                self.events.append("cue", visit_id=visit.id, detail={
                    "cue": cue_id, "due": planned.due.isoformat(),
                    "message": "stale: skipped"}, result="skipped")
        return overdue, pressed_now

    def _plan_preflight(self, visit: Visit, done: set[str], now: datetime,
                        overdue: list[Due]) -> None:
        """The device check, at its point before the start; late, until the start (a visit
        booked at short notice is checked at once): after it, nothing could be fixed."""
        if self.preflight is None or PREFLIGHT in done or visit.status not in (
                S.BOOKED, S.PREPARING) or now >= visit.start:
            return
        due = visit.start + self.preflight.settings.at.offset / self.speed
        self._due(visit.id, PREFLIGHT, due, now, overdue)

    def _due(self, visit_id: str, key: str, when: datetime, now: datetime,
             overdue: list[Due]) -> None:
        """On the clock if ahead, else overdue."""
        if when > now:
            self.timers.at(when, visit_id, key)
        else:
            overdue.append((key, when))

    def deadline(self, visit: Visit, cue: Cue) -> datetime | None:
        """Until when a cue of `visit` is worth its words: its `run_until` point, once that
        is known (None: no such policy, or a trigger it waits for has not happened)."""
        if cue.late.policy != "run_until":
            return None
        for planned in plan(self.scene, start=visit.start, triggers=self.triggers_of(visit),
                            speed=self.speed):
            if planned.cue.id == cue.id:
                return planned.deadline
        return None

    async def _run_step(self, visit_id: str, key: str, due: datetime) -> None:
        """A step whose time has come (the timers' job)."""
        await self.steps.step(visit_id, key, due)

    def guest(self, visit: Visit) -> dict[str, str]:
        """The template values for a visit's guest ({surname}{honorific} …)."""
        return self.steps.guest(visit)
