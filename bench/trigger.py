"""Trigger latency: a button press on the broker → the intercom command on the broker.

The bench presses the concierge button (a Zigbee2MQTT action, as the real button sends it)
at a steady rate and times, from its own publish to its own receipt, the announcement
`vipctl run` sends for it. Beside it, in the same run, the same presses go to a bare paho
echo client that republishes them: the floor no MQTT program on this machine can beat.

Each press must yield one announcement, so the daemon runs the shipped scene's triggered
cues only (F1 arrival, F7 show flat, F13 departure), against visits already preparing: press
3k is visit k's arrival, 3k+1 its show flat, 3k+2 its departure. All the visits a run needs
are in the database before the daemon starts, a tenth of a second apart and all within the
arrival window, so each arrival press goes to the next of several hundred waiting visits
(more than any site has; P1 is not checked on this direct insert). An announcement's id names
its visit and cue, which pairs it with its press.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from bench import sitegen
from bench.procs import DAEMON_READY, Child, python_module, vipctl_run
from bench.stats import Row, distribution, summary
from bench.visits import Planned, insert_visits, visit_id
from bench.wire import BenchClient
from controller.store.database import open_database
from controller.store.tables import EventRow
from controller.store.visits import VisitStatus
from tests.broker import Mosquitto

ECHO_IN, ECHO_OUT = "bench/press", "bench/echo"
ACTIONS = ("single", "double", "hold")
CUES = ("f1-arrival", "f7-show-flat", "f13-departure")  # what each action announces
# Visit k starts this far ahead plus k × VISIT_STEP, within the arrival press's 2-hour window:
# the nearest waiting visit is always the next one.
BOOKED_AHEAD = timedelta(minutes=10)
VISIT_STEP = timedelta(milliseconds=100)
VISIT_DURATION = timedelta(minutes=30)
# After the last press, answers count as lost once none has come for DRAIN_S, or at the
# latest DRAIN_MAX_S after it.
DRAIN_S = 3.0
DRAIN_MAX_S = 120.0
# Targets (issue 7): vipctl within this much of the floor, at p50 and at p99.
P50_OVER_FLOOR_MS, P99_OVER_FLOOR_MS = 0.5, 1.5


@dataclass(frozen=True)
class TriggerConfig:
    presses: int = 2000
    rate: float = 200.0  # presses per second
    # Then, as a reference, a calm run at QoS 1: latency without queueing behind presses.
    calm_presses: int = 200
    calm_rate: float = 20.0
    settle: float = 1.0  # after the daemon is up, before pressing (its state queries settle)

    def phases(self) -> list[tuple[int, int, float]]:
        """(QoS, presses, rate) of each run, in order."""
        calm = [(1, self.calm_presses, self.calm_rate)] if self.calm_presses else []
        return [(0, self.presses, self.rate), (1, self.presses, self.rate), *calm]


def press_run(client: BenchClient, n: int, rate: float, publish: Callable[[int], None],
              received: dict[int, float]) -> list[float]:
    """Publish n presses at `rate`; latencies (ms) of those answered within DRAIN_S."""
    sent: list[float] = [math.nan] * n
    period = 1.0 / rate
    t0 = time.perf_counter() + 0.05
    for i in range(n):
        due = t0 + i * period
        while (now := time.perf_counter()) < due:
            client.pump(due - now)
        sent[i] = time.perf_counter()
        publish(i)
    # An overloaded daemon answers late, not never: wait while answers still come.
    deadline = time.perf_counter() + DRAIN_MAX_S
    while len(received) < n and time.perf_counter() < deadline:
        before = len(received)
        client.pump_until(lambda: len(received) >= n, DRAIN_S)
        if len(received) == before:
            break
    return [(received[i] - sent[i]) * 1000 for i in range(n) if i in received]


def run(broker: Mosquitto, work: Path, config: TriggerConfig) -> list[Row]:
    scene = sitegen.trigger_scene(work / "trigger-scene.yaml")
    sites = [_site(broker, work, p) for p in range(len(config.phases()))]
    children: list[Child] = []
    client: BenchClient | None = None
    try:
        sims = python_module("sims", work / "trigger-sims.log", "bench.sims", str(sites[0]),
                             "staff_intercom")
        echo = python_module("echo", work / "echo.log", "bench.echo", broker.host,
                             str(broker.port), ECHO_IN, ECHO_OUT)
        children += [sims, echo]
        sims.wait_for("ready")
        echo.wait_for("ready")
        client = BenchClient(broker.host, broker.port, "trigger")
        client.subscribe(ECHO_OUT, sitegen.SAY_TOPIC, qos=1)
        rows: list[Row] = []
        for site, (qos, n, rate) in zip(sites, config.phases(), strict=True):
            floor = _floor(client, n, rate, qos)
            # Each run its own database and daemon: none inherits another's visits or backlog.
            _book(site, math.ceil(n / 3))
            daemon = vipctl_run(work / "trigger-daemon.log", site, scene=scene)
            children.append(daemon)
            daemon.wait_for(DAEMON_READY)
            time.sleep(config.settle)
            cpu, t0 = daemon.cpu_seconds(), time.perf_counter()
            mine = vipctl_presses(client, n, rate, qos)
            cpu = daemon.cpu_seconds() - cpu
            share, cpu_ms = cpu / (time.perf_counter() - t0), cpu * 1000 / max(1, len(mine))
            daemon.stop()
            rows += _rows(qos, rate, floor, mine, n, share, cpu_ms, _logged(site))
        return rows
    finally:
        if client is not None:
            client.close()
        for child in reversed(children):
            child.stop()


def _logged(site: Path) -> dict[str, int]:
    """What the daemon's own event log says of the run: presses taken, announcements
    played and failed (a gateway refuses beyond 100 waiting)."""
    db = open_database(f"sqlite:///{site.with_suffix('.db')}")
    try:
        with db.read() as session:
            rows = session.execute(
                select(EventRow.kind, EventRow.result, func.count()).where(
                    EventRow.kind.in_(("trigger", "announcement"))
                ).group_by(EventRow.kind, EventRow.result))
            counts = {f"{kind} {result}": int(n) for kind, result, n in rows}
    finally:
        db.close()
    return {"presses taken": counts.get("trigger ok", 0),
            "announcements played": counts.get("announcement played", 0),
            "announcements failed": counts.get("announcement failed", 0)}


def _book(site: Path, visits: int) -> None:
    """The run's visits, preparing, straight into its database (bench.visits)."""
    base = datetime.now().astimezone() + BOOKED_AHEAD
    db = open_database(f"sqlite:///{site.with_suffix('.db')}")
    try:
        insert_visits(db, [Planned(visit_id(k), f"B{k:05d}", base + k * VISIT_STEP,
                                   VISIT_DURATION, VisitStatus.PREPARING)
                           for k in range(visits)])
    finally:
        db.close()


def _site(broker: Mosquitto, work: Path, phase: int) -> Path:
    return sitegen.write_site(
        work / f"trigger-{phase}.yaml", broker_url=broker.url,
        database=work / f"trigger-{phase}.db",
        devices={"concierge_button": sitegen.BUTTON, "staff_intercom": sitegen.INTERCOM})


def _floor(client: BenchClient, n: int, rate: float, qos: int) -> list[float]:
    received: dict[int, float] = {}

    def on(topic: str, payload: bytes, at: float) -> None:
        if topic == ECHO_OUT:
            received.setdefault(int(payload), at)

    client.receivers.append(on)
    try:
        return press_run(client, n, rate, lambda i: client.publish(ECHO_IN, str(i), qos=qos),
                         received)
    finally:
        client.receivers.remove(on)


def vipctl_presses(client: BenchClient, n: int, rate: float, qos: int, *,
                   first_visit: int = 0) -> list[float]:
    """n presses for visits first_visit, first_visit + 1, ... (three each); latencies."""
    received: dict[int, float] = {}
    index = {f"{visit_id(first_visit + i // 3)}:{CUES[i % 3]}:announce": i for i in range(n)}

    def on(topic: str, payload: bytes, at: float) -> None:
        if topic == sitegen.SAY_TOPIC:
            i = index.get(json.loads(payload).get("id", ""))
            if i is not None:
                received.setdefault(i, at)

    def press(i: int) -> None:
        body = json.dumps({"action": ACTIONS[i % 3]})
        client.publish(sitegen.BUTTON_TOPIC, body, qos=qos)

    client.receivers.append(on)
    try:
        return press_run(client, n, rate, press, received)
    finally:
        client.receivers.remove(on)


def _rows(qos: int, rate: float, floor: list[float], mine: list[float], n: int, share: float,
          cpu_ms: float, logged: dict[str, int]) -> list[Row]:
    f, m = summary(floor), summary(mine)
    lost = ""
    if len(mine) < n:
        said = ", ".join(f"{v:,} {k}" for k, v in logged.items())
        lost = f"; **{n - len(mine):,} of {n:,} unanswered** (its log: {said})"
    met = (len(mine) == n and m["p50"] <= f["p50"] + P50_OVER_FLOOR_MS
           and m["p99"] <= f["p99"] + P99_OVER_FLOOR_MS)
    what = f"trigger QoS {qos}, {rate:g} presses/s"
    return [
        Row(f"{what}: paho echo (the floor)", distribution(f) + f" (n={len(floor)})",
            values=f, complete=len(floor) == n),
        Row(f"{what}: vipctl press → intercom command",
            distribution(m) + f" (n={len(mine):,}; daemon CPU {share:.2f} core"
            + (f", {cpu_ms:.1f} ms a press)" if not lost else ")") + lost,
            f"p50 ≤ floor + {P50_OVER_FLOOR_MS} ms, p99 ≤ floor + {P99_OVER_FLOOR_MS} ms",
            met, {**m, "p50_over_floor": m["p50"] - f["p50"],
                  "p99_over_floor": m["p99"] - f["p99"], "cpu_share": share,
                  "cpu_ms_per_answered_press": cpu_ms, "logged": logged},
            complete=len(mine) == n),
    ]
