"""Head office's ingest: N simulated sites publishing on a real Mosquitto, the real
`vipctl hq` storing into a real PostgreSQL (fsync and synchronous commits on, as in
production): stored events per second, lag, database bytes per event, and from them growth
per site-year and sites per head office on this machine (issue 13, part 6).

    python -m bench.hq_ingest                      # 10, 100 and 500 sites (about 2 minutes)
    python -m bench.hq_ingest --sites 10 --quick   # that it runs

Two runs per number of sites: "busy", every site mid-visit (an event every BUSY_EVERY_S
seconds, far above a day's average), and "flat out", every site publishing as fast as it can
(then the publisher, in Python on the same cores, may be the limit). Last, "backlog": head
office stopped while the largest fleet publishes, then started: what it stores per second
when the broker has more queued than it can take, its real capacity.
The sites are tests/hq_site.py's, all in this process; the table goes to stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

from bench.broker import BenchBroker
from bench.procs import VIPCTL, Child
from bench.stats import Row, markdown
from tests.hq_site import SimSite, sites, snapshot
from tests.postgres import USER, Postgres

# Events one whole visit writes to a site's event log (tests/scenario/test_whole_visit.py
# on the demo site, counted: 20 commands, 20 confirmations, 18 cues, 12 announcements,
# 6 availability changes, 4 triggers, a hold re-asserted, a restore, the visit).
EVENTS_PER_VISIT = 83
VISITS_PER_DAY = 6  # a busy sales center; most have fewer on weekdays
BUSY_EVERY_S = 2.0  # "busy": ~40x a visit's own rate (83 events over its ~70 minutes)
BUSY_SECONDS = 10.0
FLAT_OUT_EVENTS = 30_000  # in total, over all sites
HEADROOM = 10  # sites per head office: peak load at a tenth of what it can store
# The busiest seconds of a visit: at T-5 the lights, the video and their confirmations.
BURST_EVENTS, BURST_S = 40, 10.0
CATCH_UP_S = 120.0  # how long a round may take to be stored before it is reported short
# Mosquitto's default of 20 unacknowledged messages per client would cap head office's
# batches (it acknowledges after commit, controller/hq/ingest.py): docs/hq.md says so.
BROKER_LINES = "max_inflight_messages 0\nmax_queued_messages 0\n"


@dataclass(frozen=True)
class Result:
    sites: int
    mode: str
    events: int
    seconds: float
    rate: float  # stored per second, first stored to last
    lag_p50_ms: float
    lag_p99_ms: float


class HqBroker(BenchBroker):
    def __init__(self) -> None:
        super().__init__()
        self._conf.write_text(self._conf.read_text() + BROKER_LINES)


def durable(postgres: Postgres) -> None:
    """tests.postgres turns durability off for tests; a bench measures it on."""
    with psycopg.connect(host="127.0.0.1", port=postgres.port, user=USER, dbname="postgres",
                         autocommit=True) as conn:
        for setting in ("fsync", "synchronous_commit", "full_page_writes"):
            conn.execute(f"ALTER SYSTEM SET {setting} = on")
        conn.execute("SELECT pg_reload_conf()")


def hq_yaml(work: Path, broker: BenchBroker, url: str) -> Path:
    path = work / "hq.yaml"
    path.write_text(f"mqtt: {{url: 'mqtt://{broker.host}:{broker.port}'}}\n"
                    f"database: {{url: '{url}'}}\n")
    return path


def count(conn: psycopg.Connection) -> int:
    row = conn.execute("SELECT count(*) FROM hq_events").fetchone()
    return int(row[0]) if row else 0


async def publish(all_sites: list[SimSite], per_site: int, every: float) -> None:
    """`per_site` events from each site: every `every` s, each site at its own phase (0: as
    fast as the broker takes them)."""
    visit = snapshot("王", datetime.now(UTC) + timedelta(hours=1))

    async def one(n: int, site: SimSite) -> None:
        if every:
            await asyncio.sleep(every * n / len(all_sites))
        for _ in range(per_site):
            await site.send_event(site.event(
                "command", visit=visit, device_id="model_area_lights", result="sent",
                source="cue:lights_on", detail={"state": {"power": True}, "attempt": 1}))
            if every:
                await asyncio.sleep(every)

    await asyncio.gather(*(one(n, s) for n, s in enumerate(all_sites)))


def measure(conn: psycopg.Connection, before: int, expected: int, began: float, sites_n: int,
            mode: str) -> Result:
    deadline = time.monotonic() + CATCH_UP_S
    while count(conn) < before + expected and time.monotonic() < deadline:
        time.sleep(0.05)  # a bench polling the database, not a test
    stored = count(conn) - before
    row = conn.execute(
        "SELECT extract(epoch FROM max(received) - min(received)), "
        "percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM received - at)), "
        "percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM received - at)) "
        "FROM (SELECT * FROM hq_events ORDER BY received DESC LIMIT %s) recent",
        (stored,)).fetchone()
    assert row is not None
    span = max(float(row[0] or 0), 1e-3)
    return Result(sites_n, mode, stored, time.monotonic() - began, stored / span,
                  float(row[1] or 0) * 1000, float(row[2] or 0) * 1000)


def run(site_counts: list[int], quick: bool) -> tuple[list[Result], float]:
    work = Path(tempfile.mkdtemp(prefix="vipctl-bench-hq-"))
    broker, postgres = HqBroker(), Postgres()
    broker.start()
    postgres.start()
    durable(postgres)
    url = postgres.create_database("hq")
    config = hq_yaml(work, broker, url)
    hq = start_hq(config, work)
    results: list[Result] = []
    try:
        with psycopg.connect(url.replace("postgresql+psycopg", "postgresql"),
                             autocommit=True) as conn:
            for n in site_counts:
                results += asyncio.run(_rounds(conn, broker, n, quick))
            # The backlog: head office away while the largest fleet publishes (its broker
            # session queues everything), then started: how fast it catches up.
            hq.stop()
            n = max(site_counts)
            per_site = max(1, (FLAT_OUT_EVENTS if not quick else 1000) // n)
            before = count(conn)
            asyncio.run(_publish_only(broker, n, per_site))
            began = time.monotonic()
            hq = start_hq(config, work)
            results.append(measure(conn, before, per_site * n, began, n, "backlog"))
            size = conn.execute("SELECT pg_total_relation_size('hq_events')").fetchone()
            per_event = (size[0] if size else 0) / max(count(conn), 1)
    finally:
        hq.stop()
        postgres.stop()
        broker.stop()
    return results, per_event


def start_hq(config: Path, work: Path) -> Child:
    hq = Child("vipctl hq", [str(VIPCTL), "hq", "--config", str(config), "--api-port", "0"],
               work / "hq.log")
    hq.wait_for("head office subscribed")
    return hq


async def _publish_only(broker: BenchBroker, n: int, per_site: int) -> None:
    # Sites of their own: a simulated site numbers its events from 1, and the same ids again
    # would be (rightly) stored as nothing.
    async with sites(broker.host, broker.port, [f"backlog_{i}" for i in range(n)]) as running:
        await publish(running, per_site, 0.0)


async def _rounds(conn: psycopg.Connection, broker: BenchBroker, n: int, quick: bool,
                  ) -> list[Result]:
    ids = [f"bench_{n}_{i}" for i in range(n)]
    out = []
    async with sites(broker.host, broker.port, ids) as running:
        busy = max(1, int(BUSY_SECONDS / BUSY_EVERY_S)) if not quick else 1
        flat = max(1, (FLAT_OUT_EVENTS if not quick else 1000) // n)
        for mode, per_site, every in (("busy", busy, BUSY_EVERY_S), ("flat out", flat, 0.0)):
            before, began = count(conn), time.monotonic()
            await publish(running, per_site, every)
            out.append(await asyncio.to_thread(measure, conn, before, per_site * n, began, n,
                                               mode))
    return out


def rows(results: list[Result], per_event: float) -> list[Row]:
    out = [Row(f"{r.sites} sites, {r.mode}", f"{r.events} events stored at {r.rate:,.0f}/s; "
               f"lag p50 {r.lag_p50_ms:.0f} ms, p99 {r.lag_p99_ms:.0f} ms",
               values=r.__dict__) for r in results]
    # What it stores when the broker has more than it can take: the backlog's rate.
    flat_out = max((r.rate for r in results if r.mode == "backlog"), default=0.0)
    per_day = EVENTS_PER_VISIT * VISITS_PER_DAY
    year_mb = per_day * 365 * per_event / 1e6
    busy_rate = EVENTS_PER_VISIT / (70 * 60)  # a site mid-visit, events per second
    out += [
        Row("database bytes per event (hq_events, indexes included)", f"{per_event:,.0f} B"),
        Row(f"growth per site-year ({VISITS_PER_DAY} visits a day × {EVENTS_PER_VISIT} events)",
            f"{per_day * 365:,} events, {year_mb:,.0f} MB"),
        Row(f"sites per head office (the backlog's rate, every site mid-visit, "
            f"{HEADROOM}x headroom)", f"{flat_out / busy_rate / HEADROOM:,.0f} sites"),
        Row(f"sites per head office (every site in its T-5 burst at once: {BURST_EVENTS} "
            f"events in {BURST_S:.0f} s)", f"{flat_out / (BURST_EVENTS / BURST_S):,.0f} sites"),
    ]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.hq_ingest",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--sites", default="10,100,500", help="comma-separated site counts")
    parser.add_argument("--quick", action="store_true", help="small numbers (a smoke test)")
    args = parser.parse_args(argv)
    counts = [int(n) for n in args.sites.split(",") if n]
    results, per_event = run(counts, args.quick)
    print(markdown(rows(results, per_event)))
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
