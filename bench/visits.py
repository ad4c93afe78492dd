"""Visits straight into the database, in bulk through vipctl's own ORM tables.

VisitBook.book checks P1 against every other visit in its own transaction: right for one
booking, slow for ten thousand. The bench inserts rows as the book would have left them
(the visit, its status history, the steps a finished visit ran), in a few transactions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert

from controller.store.database import Database
from controller.store.tables import StepRow, VisitRow, VisitStatusRow
from controller.store.visits import VisitStatus

S = VisitStatus
# The statuses a visit passes through to reach each one, in order.
PATH = {
    S.BOOKED: [S.BOOKED],
    S.PREPARING: [S.BOOKED, S.PREPARING],
    S.DONE: [S.BOOKED, S.PREPARING, S.ARRIVED, S.AT_SHOW_FLAT, S.DEPARTING, S.DONE],
    S.NO_SHOW: [S.BOOKED, S.PREPARING, S.NO_SHOW],
    S.CANCELLED: [S.BOOKED, S.CANCELLED],
}
BATCH = 2000  # rows per INSERT statement batch


@dataclass(frozen=True)
class Planned:
    id: str
    surname: str
    start: datetime
    duration: timedelta
    status: VisitStatus
    honorific: str = "先生"
    steps: Sequence[str] = field(default=())  # executed steps (ledger keys), all "ok"


def visit_id(i: int) -> str:
    """v- and six hex digits, as VisitBook makes them, but numbered so none collide."""
    return f"v-{i:06x}"


def insert_visits(db: Database, visits: Sequence[Planned]) -> None:
    now, site = datetime.now(UTC), db.site_id
    for i in range(0, len(visits), BATCH):
        chunk = visits[i : i + BATCH]
        rows, history, steps = [], [], []
        for v in chunk:
            rows.append({
                "id": v.id, "site_id": site, "surname": v.surname, "honorific": v.honorific,
                "full_name": None,
                "title": None, "party_size": 1, "car_plate": None, "start": v.start,
                "end": v.start + v.duration, "notes": None, "status": v.status.value,
                "source": "bench", "cancel_reason": None, "created_at": now, "updated_at": now,
            })
            for n, status in enumerate(PATH[v.status]):
                at = min(now, v.start) + timedelta(seconds=n)
                history.append({"site_id": site, "visit_id": v.id, "status": status.value,
                                "at": at})
            for key in v.steps:
                steps.append({"site_id": site, "visit_id": v.id, "key": key,
                              "claimed_at": v.start, "result": "ok", "result_at": v.start})
        with db.write() as session:
            session.execute(insert(VisitRow), rows)
            session.execute(insert(VisitStatusRow), history)
            if steps:
                session.execute(insert(StepRow), steps)
