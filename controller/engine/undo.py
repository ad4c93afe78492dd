"""Undoing a mistaken press, for UNDO_WINDOW after it: a departure pressed while the guest
is still here (its restore has not run yet, departure+5m), an arrival pressed for a guest
who has not come (its cues have not set any device).

What can be taken back is: the visit's status (back to where it was, as if the press never
happened), the steps the press set off (claimed again by the real press later), and what
was scheduled on it (the restore). What cannot: an announcement already played cannot be
unsaid, and the person undoing is told which before confirming; a device a cue has
already set is not put back, so such a press is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from controller.engine.engine import Engine
from controller.store.visits import Visit, VisitStatus

S = VisitStatus
# How long after a press it can be undone (wall-clock, at any speed factor: a person's
# second thoughts do not speed up).
UNDO_WINDOW = timedelta(seconds=30)
# The presses that can be undone, and the status each moved the visit to.
UNDOABLE = {"arrival": S.ARRIVED, "departure": S.DEPARTING}


@dataclass(frozen=True, slots=True)
class UndoResult:
    trigger: str
    visit_id: str | None
    undone: bool
    message: str
    code: str | None = None  # why not: no_visit, not_undoable, moved_on, too_late, restored,
    #                          busy, acted
    back_to: str | None = None  # the status the visit goes back to
    said: list[str] = field(default_factory=list)  # announcements played: not unsaid
    needs_confirmation: bool = False


class PressUndo:
    def __init__(self, engine: Engine, *, clock: Callable[[], datetime] | None = None,
                 window: timedelta = UNDO_WINDOW) -> None:
        self.engine = engine
        self.clock = clock or engine.clock
        self.window = window

    def _visit(self, trigger: str, visit_id: str | None) -> Visit | None:
        if visit_id is not None:
            return self.engine.book.get(visit_id)
        visits = self.engine.book.list(statuses=(UNDOABLE[trigger],))
        return visits[0] if visits else None

    async def undo(self, trigger: str, *, source: str, visit_id: str | None = None,
                   confirm: bool = False) -> UndoResult:
        """Without `confirm`: whether it can be undone, and what was already said (the
        question to ask). With it: undone, or refused with the reason."""
        if trigger not in UNDOABLE:
            return UndoResult(trigger, visit_id, False, f"{trigger} cannot be undone; "
                              "only arrival and departure can", "not_undoable")
        visit = self._visit(trigger, visit_id)
        if visit is None:
            return UndoResult(trigger, None, False, f"no visit to undo {trigger} for",
                              "no_visit")
        refusal = self._refusal(trigger, visit)
        if refusal is not None:
            code, message = refusal
            self.engine.events.append("trigger", visit_id=visit.id, source=source, detail={
                "trigger": trigger, "message": f"undo refused: {message}"}, result="ignored")
            return UndoResult(trigger, visit.id, False, message, code)
        cues = [c.id for c in self.engine.scene.cues if c.at.anchor == trigger]
        back_to = self._back_to(trigger, visit)
        said = self._said(visit.id, cues)
        if not confirm:
            return UndoResult(trigger, visit.id, False, "confirm to undo", None,
                              back_to.value, said, needs_confirmation=True)
        ran = self.engine.ledger.results(visit.id)
        retaken = self.engine.steps.retaken
        for cue_id in cues:
            if cue_id in ran:
                self.engine.ledger.undo(visit.id, cue_id)
                retaken[(visit.id, cue_id)] = retaken.get((visit.id, cue_id), 0) + 1
        visit = self.engine.book.undo_status(visit.id, UNDOABLE[trigger], back_to)
        self.engine.presses.forget(trigger, visit.id)
        message = (f"{trigger} for {visit.salutation} undone: back to {back_to.value}"
                   + (f"; already said, not unsaid: {' / '.join(said)}" if said else ""))
        self.engine.events.append("trigger", visit_id=visit.id, source=source, detail={
            "trigger": trigger, "back_to": back_to.value, "said": said, "message": message},
            result="undone")
        await self.engine.reconcile(visit)  # the restore it had scheduled goes
        return UndoResult(trigger, visit.id, True, message, None, back_to.value, said)

    def _refusal(self, trigger: str, visit: Visit) -> tuple[str, str] | None:
        status = UNDOABLE[trigger]
        if visit.status is not status:
            return ("moved_on", f"{visit.salutation} is {visit.status.value}: only the last "
                    f"press, while nothing came after it, can be undone")
        pressed = visit.entered[status]
        ago = (self.clock() - pressed).total_seconds()
        if ago > self.window.total_seconds():
            return ("too_late", f"{trigger} was pressed {ago:.0f} s ago; a press can be "
                    f"undone within {self.window.total_seconds():g} s")
        ran = self.engine.ledger.results(visit.id)
        if "restore" in ran:
            return ("restored", "the restore has already run: the site is back to its "
                    "everyday state")
        cues = [c for c in self.engine.scene.cues if c.at.anchor == trigger]
        if any(c.id in ran and ran[c.id] is None for c in cues):
            return ("busy", f"{trigger}'s steps are still running; try again in a moment")
        acted = [c.id for c in cues if c.id in ran and c.actions]
        if acted:
            return ("acted", f"{', '.join(acted)} already set devices, which an undo "
                    "cannot put back")
        return None

    @staticmethod
    def _back_to(trigger: str, visit: Visit) -> VisitStatus:
        if trigger == "arrival":
            return S.PREPARING
        return S.AT_SHOW_FLAT if S.AT_SHOW_FLAT in visit.entered else S.ARRIVED

    def _said(self, visit_id: str, cues: list[str]) -> list[str]:
        events = self.engine.events.query(visit_id=visit_id, kinds=["announcement"],
                                          limit=200)
        return [str(e.detail.get("text")) for e in reversed(events)
                if e.result == "played" and e.detail.get("step") in cues]
