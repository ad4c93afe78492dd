"""The executed-steps ledger: at most once per visit and step, across crashes and restarts.

A step (a cue, an announcement, a restore) is claimed before it runs. The claim is a row
under a unique (visit_id, key) constraint, committed before anything goes on the wire; a
second claim of the same key, by a double button press, a re-planned schedule or a
restarted daemon, finds the row and gets False. A claim without a result means the
process died while the step ran: it still counts as done, because saying an announcement
twice is worse than missing one (device states are re-established by holds and restore).

The keys claimed are also kept in memory per visit (read once, then kept by this ledger's
own claims), so that a second claim is refused without a query: the daemon is the only
writer of its steps. `claim(..., defer=True)` leaves the write to the database's next
deferred commit (Database.defer), for a button press's steps, which commit together with
the press itself once its announcement has gone out (controller/engine.py).

A claim's commit is durable (`Database.write(durable=True)`: on SQLite, synchronous=FULL for
that transaction): a claim rolled back by a power cut would let the step run again, and its
announcement be said twice, after the power returns. A step's result is only a record.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal, cast, get_args

from sqlalchemy import Table, bindparam, select
from sqlalchemy.exc import IntegrityError

from controller.errors import ControllerError
from controller.store.database import Database
from controller.store.tables import Clock, StepRow, utc_now

# skipped: a cue whose condition (`when:`) was false, or had no reading and said skip.
StepResult = Literal["ok", "failed", "skipped-late", "skipped"]
STEP_RESULTS: tuple[str, ...] = get_args(StepResult)
MAX_KEY_LENGTH = 200  # the column's width
_PRELOAD_CHUNK = 500  # visit ids per IN (...): within every database's parameter limit
# Core statements on the table: a claim is one plain INSERT, not a unit of work.
_STEPS = cast(Table, StepRow.__table__)
_MARK = _STEPS.update().where(_STEPS.c.visit_id == bindparam("v"), _STEPS.c.key == bindparam("k"))


class UnclaimedStep(ControllerError):
    """`mark` for a step that was never claimed: a bug in the caller."""

    def __init__(self, visit_id: str, key: str) -> None:
        super().__init__(f"step {key!r} of visit {visit_id} was never claimed")
        self.visit_id = visit_id
        self.key = key


class StepLedger:
    def __init__(self, db: Database, *, clock: Clock = utc_now) -> None:
        self._db = db
        self._clock = clock
        self._claimed: dict[str, set[str]] = {}  # visit id → keys claimed, once read

    def claim(self, visit_id: str, key: str, *, defer: bool = False,
              durable: bool = True) -> bool:
        """True if this call is the first to claim `key` for the visit: then run the step.

        `defer`: committed with the database's next deferred writes; only for a visit
        known to exist. `durable=False` (with `defer`): for a step that may run twice after
        a power cut without harm (it says nothing to a guest): no sync to the disk for it."""
        if not 1 <= len(key) <= MAX_KEY_LENGTH:
            raise ValueError(f"step key must be 1 to {MAX_KEY_LENGTH} characters")
        claimed = self._keys(visit_id)
        if key in claimed:
            return False
        row = {"site_id": self._db.site_id, "visit_id": visit_id, "key": key,
               "claimed_at": self._clock()}
        if defer:
            claimed.add(key)
            self._db.defer(lambda session: session.execute(_STEPS.insert(), row),
                           durable=durable)
            return True
        try:
            with self._db.write(durable=True) as session:
                session.execute(_STEPS.insert(), row)
        except IntegrityError:
            # Either the step is already claimed or the visit does not exist; tell which,
            # because an unknown visit is a bug, not a duplicate.
            with self._db.read() as session:
                found = session.scalar(
                    select(StepRow.id).where(StepRow.visit_id == visit_id, StepRow.key == key)
                )
            if found is None:
                raise
            claimed.add(key)
            return False
        claimed.add(key)
        return True

    def commit(self) -> None:
        """Commit the deferred claims (and every other deferred write) now."""
        self._db.flush_deferred()

    async def committed(self) -> None:
        """As `commit`, in the database's writer thread, the loop going on meanwhile."""
        await self._db.commit_deferred()

    def preload(self, visit_ids: Iterable[str]) -> None:
        """Read the claims of many visits in one query (at start-up, every open visit's),
        instead of one read each when they are first asked about."""
        wanted = [v for v in visit_ids if v not in self._claimed]
        for start in range(0, len(wanted), _PRELOAD_CHUNK):
            chunk = wanted[start:start + _PRELOAD_CHUNK]
            found: dict[str, set[str]] = {v: set() for v in chunk}
            with self._db.read() as session:
                for visit_id, key in session.execute(select(StepRow.visit_id, StepRow.key)
                                                     .where(StepRow.visit_id.in_(chunk))):
                    found[visit_id].add(key)
            self._claimed.update(found)

    def _keys(self, visit_id: str) -> set[str]:
        claimed = self._claimed.get(visit_id)
        if claimed is None:
            with self._db.read() as session:
                claimed = set(session.scalars(
                    select(StepRow.key).where(StepRow.visit_id == visit_id)))
            self._claimed[visit_id] = claimed
        return claimed

    def mark(self, visit_id: str, key: str, result: StepResult) -> None:
        """Record how a claimed step ended: with the next deferred writes, for it is only a
        record (a step claimed but never marked counts as done all the same)."""
        if result not in STEP_RESULTS:
            raise ValueError(f"result must be one of {', '.join(STEP_RESULTS)}, not {result!r}")
        if key not in self._keys(visit_id):
            raise UnclaimedStep(visit_id, key)
        at = self._clock()
        self._db.defer(lambda session: session.execute(_MARK, {
            "v": visit_id, "k": key, "result": result, "result_at": at}))

    def unfinished(self) -> list[tuple[str, str]]:
        """(visit id, key) of every step claimed and never marked: at start-up, what the
        previous process was doing when it died."""
        with self._db.read() as session:
            rows = session.execute(select(StepRow.visit_id, StepRow.key).where(
                StepRow.site_id == self._db.site_id, StepRow.result.is_(None))
                .order_by(StepRow.id))
            return [(v, k) for v, k in rows]

    def forget(self, visit_id: str, key: str) -> None:
        """Drop a claim a crashed process left without a result, so the step runs again.
        Only for steps that may run twice (the restore and the no-show: releasing claims
        twice changes nothing), never for anything that speaks."""
        self._keys(visit_id).discard(key)
        with self._db.write() as session:
            session.execute(_STEPS.delete().where(_STEPS.c.visit_id == visit_id,
                                                  _STEPS.c.key == key,
                                                  _STEPS.c.result.is_(None)))

    def undo(self, visit_id: str, key: str) -> None:
        """Drop a step's claim, finished or not, because a person undid the press that set
        it off (controller/engine/undo.py): the step may then run once more. The one
        deliberate exception to at-most-once; what it said was said, and the person was
        told so before undoing."""
        self._keys(visit_id).discard(key)
        with self._db.write(durable=True) as session:
            session.execute(_STEPS.delete().where(_STEPS.c.visit_id == visit_id,
                                                  _STEPS.c.key == key))

    def done(self, visit_id: str) -> set[str]:
        """Every key claimed for the visit, finished or not."""
        return set(self._keys(visit_id))

    def results(self, visit_id: str) -> dict[str, str | None]:
        """Each claimed key and its result (None: claimed, never marked)."""
        with self._db.read() as session:
            rows = session.execute(
                select(StepRow.key, StepRow.result).where(StepRow.visit_id == visit_id)
            )
            return {key: result for key, result in rows}
