"""A button press while viewers hammer the API: what a read-only token can do to P2's
arrival announcement.

An outside probe (issue 12) booked 5,000 visits and ran 8 clients looping GET /visits
with a viewer token: the arrival announcement went from 3 ms to 9 s after the press. Here
the same: the database holds that many visits (past, done), `vipctl run` serves its API,
and the concierge button is pressed at a calm rate first with nobody reading, then with
the viewers looping. Each press is timed from its publish to the announcement it yields.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from bench import sitegen
from bench.presses import vipctl_presses
from bench.procs import Child, python_module, vipctl_run
from bench.stats import Row, distribution, summary
from bench.trigger_sites import BOOKED_AHEAD, VISIT_DURATION, VISIT_STEP
from bench.visits import Planned, insert_visits, visit_id
from bench.wire import BenchClient
from controller.store.database import open_database
from controller.store.visits import VisitStatus
from tests.broker import Mosquitto, free_port

VIEWER_TOKEN = "bench-viewer-token-0123456789"
# Target: the viewers may slow a press, not hold it up (the probe saw 9,030 ms at p99).
P99_UNDER_LOAD_MS = 100.0
PAST_STEP = timedelta(minutes=52)


@dataclass(frozen=True)
class ApiLoadConfig:
    visits: int = 5000
    viewers: int = 8
    presses: int = 150  # in each phase; a multiple of 3 (arrival, show flat, departure)
    rate: float = 10.0
    settle: float = 1.0


def run(broker: Mosquitto, work: Path, config: ApiLoadConfig) -> list[Row]:
    site = sitegen.write_site(
        work / "api-load.yaml", broker_url=broker.url, database=work / "api-load.db",
        devices={"concierge_button": sitegen.BUTTON, "staff_intercom": sitegen.INTERCOM},
        extra={"auth": {"tokens": [{"name": "screen", "role": "viewer",
                                    "token": VIEWER_TOKEN}]}})
    _book(site, config)
    scene = sitegen.trigger_scene(work / "api-load-scene.yaml")
    port = free_port()
    children: list[Child] = []
    client = BenchClient(broker.host, broker.port, "api-load")
    try:
        sims = python_module("sims", work / "api-load-sims.log", "bench.sims", str(site),
                             "staff_intercom")
        children.append(sims)
        sims.wait_for("ready")
        daemon = vipctl_run(work / "api-load-daemon.log", site, scene=scene, api_port=port)
        children.append(daemon)
        daemon.wait_for("API on")
        client.subscribe(sitegen.SAY_TOPIC, qos=1)
        time.sleep(config.settle)
        quiet = list(vipctl_presses(client, config.presses, config.rate, 1).values())
        viewers = python_module("viewers", work / "api-load-viewers.log", "bench.viewers",
                                f"http://127.0.0.1:{port}", VIEWER_TOKEN, str(config.viewers))
        children.append(viewers)
        viewers.wait_for("ready")
        t0 = time.perf_counter()
        loaded = list(vipctl_presses(client, config.presses, config.rate, 1,
                                     first_visit=config.presses // 3).values())
        seconds = time.perf_counter() - t0
        viewers.stop()
        answers = json.loads(viewers.lines()[-1])
        return _rows(config, quiet, loaded, answers, seconds)
    finally:
        client.close()
        for child in reversed(children):
            child.stop()


def _book(site: Path, config: ApiLoadConfig) -> None:
    """The past visits the viewers read, and the preparing ones the presses are for."""
    now = datetime.now().astimezone()
    past = [Planned(visit_id(10_000 + k), f"P{k:05d}", now - (k + 1) * PAST_STEP,
                    timedelta(minutes=45), VisitStatus.DONE) for k in range(config.visits)]
    ahead = [Planned(visit_id(k), f"B{k:05d}", now + BOOKED_AHEAD + k * VISIT_STEP,
                     VISIT_DURATION, VisitStatus.PREPARING)
             for k in range(2 * math.ceil(config.presses / 3))]
    db = open_database(f"sqlite:///{site.with_suffix('.db')}")
    try:
        insert_visits(db, past + ahead)
    finally:
        db.close()


def _rows(config: ApiLoadConfig, quiet: list[float], loaded: list[float],
          answers: dict[str, int], seconds: float) -> list[Row]:
    q, m = summary(quiet), summary(loaded)
    n = config.presses
    served = answers.get("200", 0)
    refused = sum(v for k, v in answers.items() if k != "200")
    what = f"press → announcement, {config.visits:,} visits in the book"
    return [
        Row(f"{what}, nobody reading the API", distribution(q) + f" (n={len(quiet)})",
            values=q, complete=len(quiet) == n),
        Row(f"{what}, {config.viewers} viewers looping GET /visits",
            distribution(m) + f" (n={len(loaded)}; {served / seconds:,.0f} pages/s served"
            + (f", {refused:,} refused" if refused else "") + ")",
            f"p99 ≤ {P99_UNDER_LOAD_MS:g} ms", len(loaded) == n and m["p99"] <= P99_UNDER_LOAD_MS,
            {**m, "answers": answers, "pages_per_s": served / seconds},
            complete=len(loaded) == n),
    ]
