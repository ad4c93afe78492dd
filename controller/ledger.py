"""The executed-steps ledger: at most once per visit and step, across crashes and restarts.

A step (a cue, an announcement, a restore) is claimed before it runs. The claim is a row
under a unique (visit_id, key) constraint, committed before anything goes on the wire; a
second claim of the same key, by a double button press, a re-planned schedule or a
restarted daemon, finds the row and gets False. A claim without a result means the
process died while the step ran: it still counts as done, because saying an announcement
twice is worse than missing one (device states are re-established by holds and restore).
"""

from __future__ import annotations

from typing import Literal, get_args

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from controller.db import Clock, Database, StepRow, utc_now

StepResult = Literal["ok", "failed", "skipped-late"]
STEP_RESULTS: tuple[str, ...] = get_args(StepResult)
MAX_KEY_LENGTH = 200  # the column's width


class UnclaimedStep(KeyError):
    """`mark` for a step that was never claimed: a bug in the caller."""

    def __init__(self, visit_id: str, key: str) -> None:
        super().__init__(f"step {key!r} of visit {visit_id} was never claimed")
        self.visit_id = visit_id
        self.key = key


class StepLedger:
    def __init__(self, db: Database, *, clock: Clock = utc_now) -> None:
        self._db = db
        self._clock = clock

    def claim(self, visit_id: str, key: str) -> bool:
        """True if this call is the first to claim `key` for the visit: then run the step."""
        if not 1 <= len(key) <= MAX_KEY_LENGTH:
            raise ValueError(f"step key must be 1 to {MAX_KEY_LENGTH} characters")
        try:
            with self._db.write() as session:
                session.add(StepRow(visit_id=visit_id, key=key, claimed_at=self._clock()))
        except IntegrityError:
            # Either the step is already claimed or the visit does not exist; tell which,
            # because an unknown visit is a bug, not a duplicate.
            with self._db.read() as session:
                found = session.scalar(
                    select(StepRow.id).where(StepRow.visit_id == visit_id, StepRow.key == key)
                )
            if found is None:
                raise
            return False
        return True

    def mark(self, visit_id: str, key: str, result: StepResult) -> None:
        """Record how a claimed step ended."""
        if result not in STEP_RESULTS:
            raise ValueError(f"result must be one of {', '.join(STEP_RESULTS)}, not {result!r}")
        with self._db.write() as session:
            row = session.scalar(
                select(StepRow).where(StepRow.visit_id == visit_id, StepRow.key == key)
            )
            if row is None:
                raise UnclaimedStep(visit_id, key)
            row.result, row.result_at = result, self._clock()

    def done(self, visit_id: str) -> set[str]:
        """Every key claimed for the visit, finished or not."""
        with self._db.read() as session:
            return set(session.scalars(select(StepRow.key).where(StepRow.visit_id == visit_id)))

    def results(self, visit_id: str) -> dict[str, str | None]:
        """Each claimed key and its result (None: claimed, never marked)."""
        with self._db.read() as session:
            rows = session.execute(
                select(StepRow.key, StepRow.result).where(StepRow.visit_id == visit_id)
            )
            return {key: result for key, result in rows}
