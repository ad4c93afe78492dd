"""`python -m bench.durability`: what a durable commit costs on this machine's disk.

A step's claim and a visit's status change commit with SQLite's synchronous=FULL (the
write-ahead log synced before the commit returns), every other commit with NORMAL
(controller/store/database.py). This times the same writes both ways, alternating, on an
SQLite file in --dir (put it on the disk the site's database will live on):

    python -m bench.durability --dir /var/lib/vipctl --n 300

- claim: one executed-steps row, its own commit (a scheduled cue's claim);
- press: a visit's status, its history, a claim and an event in one commit (a button press's
  deferred writes).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert, update
from sqlalchemy.orm import Session

from bench.stats import distribution, summary
from controller.store.database import Database, open_database
from controller.store.tables import EventRow, StepRow, VisitRow, VisitStatusRow


def _visit(db: Database) -> str:
    now = datetime.now(UTC)
    with db.write() as session:
        session.execute(insert(VisitRow).values(
            id="v-bench", site_id=db.site_id, surname="王", honorific="先生", party_size=1,
            start=now, end=now,
            status="preparing", created_at=now, updated_at=now, source="bench"))
    return "v-bench"


def _timed(db: Database, n: int, write: Callable[[Session, int], object],
           ) -> dict[str, list[float]]:
    """`n` commits of `write` at each level, alternating; seconds each."""
    times: dict[str, list[float]] = {"NORMAL": [], "FULL": []}
    for i in range(2 * n):
        durable = i % 2 == 1
        began = time.perf_counter()
        with db.write(durable=durable) as session:
            write(session, i)
        times["FULL" if durable else "NORMAL"].append(time.perf_counter() - began)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.durability")
    parser.add_argument("--dir", type=Path, default=None, help="where the SQLite file goes")
    parser.add_argument("--n", type=int, default=300, help="commits of each kind and level")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="vipctl-durability-", dir=args.dir))
    db = open_database(f"sqlite:///{folder / 'vipctl.db'}")
    try:
        visit = _visit(db)
        now = datetime.now(UTC)

        def claim(session: Session, i: int) -> None:
            session.execute(insert(StepRow).values(site_id=db.site_id, visit_id=visit, key=f"c{i}",
                                                   claimed_at=now))

        def press(session: Session, i: int) -> None:
            session.execute(update(VisitRow).where(VisitRow.id == visit).values(updated_at=now))
            site = db.site_id
            session.execute(insert(VisitStatusRow).values(site_id=site, visit_id=visit,
                                                          status="arrived", at=now))
            session.execute(insert(StepRow).values(site_id=site, visit_id=visit, key=f"p{i}",
                                                   claimed_at=now))
            session.execute(insert(EventRow).values(site_id=site, at=now, kind="trigger",
                                                    visit_id=visit, detail={}, result="ok"))

        print(f"SQLite file in {folder}, {args.n} commits of each kind and level")
        for name, write in (("claim", claim), ("press", press)):
            for level, times in _timed(db, args.n, write).items():
                ms = summary([t * 1000 for t in times])
                print(f"{name:5} {level:6} {distribution(ms)}")
    finally:
        db.close()


if __name__ == "__main__":
    main()
