"""The next guests, booked while the trigger bench runs: `python -m bench.booker DB BASE`.

A site has a visit or two within reach of an arrival press, not a thousand: pressing through
a thousand visits booked ahead would time the daemon reading them. So this process books
visit k (a line "k" on stdin) just before its guest arrives, straight into the database as
the book would leave it: preparing, starting BASE + k × STEP, within the arrival window.
It runs apart so that the bench's own timing thread never waits for a database.
"""

from __future__ import annotations

import sys
from datetime import datetime, timedelta

from bench.visits import Planned, insert_visits, visit_id
from controller.db import open_database
from controller.visits import VisitStatus

STEP = timedelta(milliseconds=100)  # later visits start later: the nearest is the next
DURATION = timedelta(minutes=30)


def planned(k: int, base: datetime) -> Planned:
    return Planned(visit_id(k), f"B{k:05d}", base + k * STEP, DURATION, VisitStatus.PREPARING)


def main(url: str, base: str) -> None:
    db = open_database(url)
    start = datetime.fromisoformat(base)
    print("ready", flush=True)
    for line in sys.stdin:
        insert_visits(db, [planned(int(line), start)])
    db.close()


if __name__ == "__main__":
    main(*sys.argv[1:3])
