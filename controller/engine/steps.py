"""The steps of a visit, each at most once: a cue, a hold beginning, the no-show, the restore.

Each step claims its key in the ledger before it acts (controller/store/ledger.py says why
that is at most once across crashes). Steps run side by side, so that a cue waiting for an
announcement to be played does not hold up the lights; only a visit's restore waits, and
only for the claims of the steps in flight, not for their announcements.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from controller.engine.announcer import Announcer
from controller.engine.conditions import Verdict, verdict
from controller.engine.context import CurrentVisit
from controller.engine.executor import Executor
from controller.engine.metrics import Metrics
from controller.engine.preflight import STEP as PREFLIGHT
from controller.engine.preflight import Preflight
from controller.engine.timers import Timers
from controller.store.book import VisitBook
from controller.store.events import EventLog
from controller.store.ledger import StepLedger
from controller.store.visits import FREE, Visit, VisitStatus
from scenes.model import Cue, Scene
from scenes.timeline import announcements

log = logging.getLogger(__name__)

S = VisitStatus


class Steps:
    """Carries out the steps the engine schedules or a trigger sets off."""

    def __init__(self, *, scene: Scene, executor: Executor, announcer: Announcer,
                 book: VisitBook, ledger: StepLedger, events: EventLog, current: CurrentVisit,
                 timers: Timers, metrics: Metrics, clock: Callable[[], datetime],
                 preflight: Preflight | None = None) -> None:
        self.scene = scene
        self.executor = executor
        self.announcer = announcer
        self.book = book
        self.ledger = ledger
        self.events = events
        self.current = current
        self.timers = timers
        self.metrics = metrics
        self.clock = clock
        self.preflight = preflight
        self.layer_priority = scene.priority
        self._in_flight: dict[str, int] = {}
        self._settled: dict[str, asyncio.Event] = {}
        # Called with a visit's id once its restore has run: the visit is over.
        self.on_over: list[Callable[[str], None]] = []
        # A cue's run_until for a visit, as it stands (the engine's plan): its words are
        # not said after it.
        self.deadline: Callable[[Visit, Cue], datetime | None] = lambda visit, cue: None
        # Cues run again after their press was undone (controller/engine/undo.py), and how
        # often: their words get new ids, or the gateway would drop them as repeats.
        self.retaken: dict[tuple[str, str], int] = {}

    async def step(self, visit_id: str, key: str, due: datetime | None = None, *,
                   pressed: bool = False) -> None:
        """One scheduled step of a visit: a cue, a hold beginning, or the restore, due at
        `due` (`pressed`: a cue a trigger has just set off)."""
        try:
            visit = self.book.get(visit_id)
            if visit.status in FREE:
                return
            if key == "restore":
                await self.restore(visit_id, why="visit over")
            elif key == "no-show":
                await self._no_show(visit)
            elif key == PREFLIGHT:
                await self._preflight(visit)
            elif key.startswith("hold:"):
                await self._begin_hold(visit, key, due)
            else:
                await self.run_cue(visit_id, key, pressed=pressed, due=due)
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

    async def run_cue(self, visit_id: str, cue_id: str, *, force: bool = False,
                       speak: bool = True, pressed: bool = False,
                       due: datetime | None = None, claimed: bool = False) -> None:
        """One cue, once per visit. `speak=False`: the actions only (the guest is here).
        `pressed`: set off by a trigger, its claim is committed with the trigger's. `due`:
        when it was due, for its lateness (none for one forced early: VIP now). `claimed`:
        the caller has claimed it already (and only then runs it)."""
        # The claim is committed with the device claims its actions make, in the writer
        # thread, after their commands have gone out (setting a device twice after a power
        # cut is harmless), and waited for before anything is said; a pressed cue's with
        # its press, just after its words (see _carry_out).
        if not claimed and not self.ledger.claim(visit_id, cue_id, defer=True):
            return
        if due is not None:  # once per cue and visit: only the claim's winner gets here
            self.metrics.cue_started(cue_id, (self.clock() - due).total_seconds())
        if "restore" in self.ledger.done(visit_id):  # the visit is over: claim nothing
            self.ledger.mark(visit_id, cue_id, "skipped-late")
            return
        cue = self._cue(cue_id)
        judged = verdict(self.executor.registry, cue, self.book.get(visit_id))
        if judged is not None and not judged.runs:
            self.ledger.mark(visit_id, cue_id, "skipped")
            self.events.append("cue", visit_id=visit_id, detail=judged.detail(cue),
                               result="skipped")
            log.info("cue %s of %s skipped: %s", cue_id, visit_id, judged.detail(cue))
            return
        # The restore waits for the claims of steps in flight, not for their announcements
        # (spoken, they take seconds each and queue on the intercom).
        self._enter(visit_id)
        try:
            visit, ok = await self._cue_actions(visit_id, cue, force=force, judged=judged,
                                                due=due)
        finally:
            self._leave(visit_id)
        if not pressed:  # the claim is on the disk before anything is said
            await self.ledger.committed()
        await self._cue_words(visit, cue, ok, speak=speak)

    async def _cue_actions(self, visit_id: str, cue: Cue, *, force: bool,
                           judged: Verdict | None = None,
                           due: datetime | None = None) -> tuple[Visit, bool]:
        visit = self.book.get(visit_id)
        if visit.status is S.BOOKED:  # committed with the cue's claim
            visit = self.book.set_status(visit_id, S.PREPARING, defer=True)
        self.current.id = self.current.id or visit_id
        # "due": the reports' lateness per step (controller/reports) reads it here.
        detail: dict[str, Any] = {"cue": cue.id, "description": cue.description, "forced": force,
                                  "due": due}
        if judged is not None:  # what its condition saw; a missing sensor is said here too
            detail.update(judged.detail(cue))
        self.events.append_soon("cue", visit_id=visit_id, detail=detail, result="started")
        ok = True
        for action in cue.actions:
            results = await self.executor.apply(
                self.layer(visit_id), self.layer_priority, action.target,
                action.state.as_state(), hold=False, visit_id=visit_id, step=cue.id)
            ok = ok and all(r.ok for r in results)
        return visit, ok

    async def _cue_words(self, visit: Visit, cue: Cue, ok: bool, *, speak: bool) -> None:
        visit_id = visit.id
        again = self.retaken.get((visit_id, cue.id))
        said = announcements(self.scene, cue, self.guest(visit),
                             key=visit_id if again is None else f"{visit_id}.{again}")
        if said and not speak:
            self.events.append("cue", visit_id=visit_id, detail={
                "cue": cue.id, "message": "the guest is already here: not said",
                "texts": [a.text for _, a in said]}, result="skipped")
            said = []
        until = self.deadline(visit, cue) if said else None
        for intercom, announcement in said:
            ok = await self.announcer.say(intercom, announcement, visit_id=visit_id,
                                          step=cue.id, until=until) and ok
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
        await self.restore(visit.id, why="no-show")

    async def _preflight(self, visit: Visit) -> None:
        # Checking twice after a power cut does no harm: no sync to the disk for its claim
        # (a restart with a morning of bookings claims one per visit).
        if self.preflight is None or not self.ledger.claim(visit.id, PREFLIGHT, defer=True,
                                                           durable=False):
            return
        report = await self.preflight.run(visit.id, source="schedule")
        self.ledger.mark(visit.id, PREFLIGHT, "failed" if report.problems else "ok")

    async def _begin_hold(self, visit: Visit, key: str, due: datetime | None) -> None:
        if not self.ledger.claim(visit.id, key):
            return
        if "restore" in self.ledger.done(visit.id):
            self.ledger.mark(visit.id, key, "skipped-late")
            return
        self._enter(visit.id)
        try:
            hold = next(h for h in self.scene.holds if f"hold:{h.id}" == key)
            # Its due time, for the reports (its result is the ledger's).
            self.events.append_soon("cue", visit_id=visit.id, detail={
                "cue": key, "description": hold.description, "due": due}, result="started")
            results = await self.executor.apply(
                self.hold_layer(visit.id), self.layer_priority, hold.target,
                hold.state.as_state(), hold=True, visit_id=visit.id, step=key)
            ok = all(r.ok for r in results)
            self.ledger.mark(visit.id, key, "ok" if ok else "failed")
        finally:
            self._leave(visit.id)

    async def restore(self, visit_id: str, *, why: str) -> None:
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
        if self.current.id == visit_id:
            self.current.id = None
        self.timers.unschedule(visit_id)
        for over in self.on_over:
            over(visit_id)

    # --- helpers ----------------------------------------------------------------------------

    @staticmethod
    def layer(visit_id: str) -> str:
        return f"visit:{visit_id}"

    @staticmethod
    def hold_layer(visit_id: str) -> str:
        """Holds claim in a layer of their own, so a cue's plain claim cannot unhold them."""
        return f"visit:{visit_id}:holds"

    @staticmethod
    def guest(visit: Visit) -> dict[str, str]:
        return {
            "surname": visit.surname, "honorific": visit.honorific,
            "title": visit.title or "", "full_name": visit.full_name or visit.surname,
            "party_size": str(visit.party_size), "car_plate": visit.car_plate or "",
        }
