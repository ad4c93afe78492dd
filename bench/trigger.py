"""Trigger latency: a button press on the broker → the intercom command on the broker.

The bench presses the concierge button (a Zigbee2MQTT action, as the real button sends it)
at a steady rate and times, from its own publish to its own receipt, the announcement
`vipctl run` sends for it (bench.presses). Beside it, in the same run and at the same rate
and QoS, the same presses go to a bare paho echo client that republishes them: the floor no
MQTT program on this machine can beat; with `--peers`, to Node-RED doing the same
receive-and-publish too (bench.peers).

Each press must yield one announcement, so the daemon runs the shipped scene's triggered
cues (F1 arrival, F7 show flat, F13 departure): press 3k is visit k's arrival, 3k+1 its show
flat, 3k+2 its departure. Three variants of the site (bench.trigger_sites): plain, with the
music ducked while the intercom speaks, and guests arriving before their preparation. Each
row counts the presses never answered and those answered after 20 ms besides its
percentiles, and checks the daemon's own log that every announcement was played.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select

from bench import peers, sitegen, trigger_sites
from bench.presses import ECHO_IN, ECHO_OUT, Latencies, floor_presses, vipctl_presses
from bench.procs import DAEMON_READY, Child, python_module, vipctl_run
from bench.stats import SLOW_MS, Row, distribution, ms, over, summary
from bench.wire import BenchClient
from controller.store.database import open_database
from controller.store.tables import EventRow
from tests.broker import Mosquitto

# Targets (issue 16), over the floor measured in the same run. At a calm rate (at most
# CALM_RATE presses a second) the press's own path: p50 and p99. Busier, nothing may queue
# long: p99, and every press under SLOW_MS. Always: every press answered, every
# announcement played.
CALM_RATE = 20.0
CALM_P50_OVER_FLOOR_MS, CALM_P99_OVER_FLOOR_MS = 0.3, 0.6
BUSY_P99_OVER_FLOOR_MS = 2.0
# After the presses: how long without a "done" from the gateway ends the wait for them, and
# how long the daemon then has to take the last in before it is stopped.
PLAYED_WAIT_S, TAKEN_IN_S = 2.0, 0.2
VARIANT_NAMES = {"plain": "", "duck": ", duck: configured", "early": ", early arrival"}


@dataclass(frozen=True)
class Phase:
    variant: str  # one of trigger_sites.VARIANTS
    qos: int
    presses: int
    rate: float  # presses per second


@dataclass(frozen=True)
class TriggerConfig:
    presses: int = 2000
    rate: float = 200.0  # presses per second
    # Then a calm run at QoS 1: latency without queueing behind presses.
    calm_presses: int = 200
    calm_rate: float = 20.0
    duck: bool = True  # the busy and calm QoS 1 runs again, the music ducked
    # Guests before their preparation (0: none). Slower: their show flat must not be pressed
    # while the welcome is still on its way (the press would find no guest arrived yet).
    early_presses: int = 150
    early_rate: float = 5.0
    settle: float = 1.0  # after the daemon is up, before pressing (its state queries settle)
    peers: bool = False  # Node-RED beside the floor, for every plain run

    def phases(self) -> list[Phase]:
        """Every run, in order."""
        busy, calm = (self.presses, self.rate), (self.calm_presses, self.calm_rate)
        runs = [Phase("plain", 0, *busy), Phase("plain", 1, *busy)]
        if self.calm_presses:
            runs.append(Phase("plain", 1, *calm))
        if self.duck:
            runs.append(Phase("duck", 1, *busy))
            if self.calm_presses:
                runs.append(Phase("duck", 1, *calm))
        if self.early_presses:
            runs.append(Phase("early", 1, self.early_presses, self.early_rate))
        return runs


def run(broker: Mosquitto, work: Path, config: TriggerConfig) -> list[Row]:
    children: list[Child] = []
    client: BenchClient | None = None
    red: peers.NodeRed | None = None
    skipped = peers.unavailable() if config.peers else None
    try:
        echo = python_module("echo", work / "echo.log", "bench.echo", broker.host,
                             str(broker.port), ECHO_IN, ECHO_OUT)
        children.append(echo)
        echo.wait_for("ready")
        client = BenchClient(broker.host, broker.port, "trigger")
        client.subscribe(ECHO_OUT, sitegen.SAY_TOPIC, sitegen.EVENT_TOPIC, peers.SAY_TOPIC,
                         qos=1)
        if config.peers and skipped is None:
            red = peers.NodeRed(broker, work)
            red.start(client)
        rows: list[Row] = []
        for p, phase in enumerate(config.phases()):
            floor = floor_presses(client, phase.presses, phase.rate, phase.qos)
            rows.append(_floor_row(phase, floor))
            if config.peers and phase.variant == "plain":
                rows.append(_peer_row(phase, floor, red, skipped, client))
            rows.append(_vipctl(broker, work, client, phase, p, config.settle, floor))
        return rows
    finally:
        if client is not None:
            client.close()
        if red is not None:
            red.stop()
        for child in reversed(children):
            child.stop()


def _vipctl(broker: Mosquitto, work: Path, client: BenchClient, phase: Phase, p: int,
            settle: float, floor: Latencies) -> Row:
    """One run of the daemon: its own database, simulators and process, so that none
    inherits another's visits or backlog."""
    variant = trigger_sites.prepare(phase.variant, broker, work, f"trigger-{p}",
                                    math.ceil(phase.presses / 3))
    sims = python_module("sims", work / f"trigger-{p}-sims.log", "bench.sims",
                         str(variant.site), variant.simulated)
    daemon: Child | None = None
    try:
        sims.wait_for("ready")
        daemon = vipctl_run(work / f"trigger-{p}-daemon.log", variant.site,
                            scene=variant.scene)
        daemon.wait_for(DAEMON_READY)
        time.sleep(settle)
        with _Played(client) as played:
            cpu, t0 = daemon.cpu_seconds(), time.perf_counter()
            mine = vipctl_presses(client, phase.presses, phase.rate, phase.qos)
            cpu = daemon.cpu_seconds() - cpu
            share = cpu / (time.perf_counter() - t0)
            played.wait(phase.presses)
    finally:
        if daemon is not None:
            daemon.stop()  # its deferred writes committed: the log below is complete
        sims.stop()
    return _vipctl_row(phase, floor, mine, share, cpu * 1000 / max(1, len(mine)),
                       _logged(variant.site))


class _Played:
    """The announcements the gateway reported played ("done" on its event topic): the
    daemon is stopped only after the last of them, and a moment for it to take that in;
    stopped before, its log would miss announcements that were played."""

    def __init__(self, client: BenchClient) -> None:
        self.client = client
        self.done: set[str] = set()

    def __enter__(self) -> _Played:
        self.client.receivers.append(self._on)
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.receivers.remove(self._on)

    def _on(self, topic: str, payload: bytes, at: float) -> None:
        if topic == sitegen.EVENT_TOPIC:
            event = json.loads(payload)
            if event.get("event") == "done":
                self.done.add(str(event.get("id")))

    def wait(self, n: int) -> None:
        """Until n are done, or none more came for PLAYED_WAIT_S."""
        while len(self.done) < n:
            before = len(self.done)
            self.client.pump_until(lambda: len(self.done) >= n, PLAYED_WAIT_S)
            if len(self.done) == before:
                break
        self.client.pump_until(lambda: False, TAKEN_IN_S)


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


def _what(phase: Phase) -> str:
    return f"trigger QoS {phase.qos}, {phase.rate:g} presses/s{VARIANT_NAMES[phase.variant]}"


def _counted(row: Row, n: int, answered: Latencies) -> Row:
    row.unanswered, row.slow = n - len(answered), over(answered.values(), SLOW_MS)
    row.complete = len(answered) == n
    row.values.update({"unanswered": row.unanswered, "over_20_ms": row.slow})
    return row


def _floor_row(phase: Phase, floor: Latencies) -> Row:
    f = summary(list(floor.values()))
    return _counted(Row(f"{_what(phase)}: paho echo (the floor)",
                        distribution(f) + f" (n={len(floor):,})", values=dict(f)),
                    phase.presses, floor)


def _over_floor(m: dict[str, float], f: dict[str, float]) -> str:
    return f"floor {_signed(m['p50'] - f['p50'])} · {_signed(m['p99'] - f['p99'])} ms at p50 · p99"


def _signed(value: float) -> str:
    return f"+{ms(value)}" if value >= 0 else f"−{ms(-value)}"


def _peer_row(phase: Phase, floor: Latencies, red: peers.NodeRed | None,
              skipped: peers.Unavailable | None, client: BenchClient) -> Row:
    if red is None:
        reason = skipped.reason if skipped is not None else "not started"
        return Row(f"{_what(phase)}: Node-RED", f"skipped: {reason}")
    theirs = red.presses(client, phase.presses, phase.rate, phase.qos)
    t, f = summary(list(theirs.values())), summary(list(floor.values()))
    return _counted(Row(f"{_what(phase)}: {red.name} receive-and-publish",
                        distribution(t) + f" (n={len(theirs):,}; {_over_floor(t, f)})",
                        values={**t, "p50_over_floor": t["p50"] - f["p50"],
                                "p99_over_floor": t["p99"] - f["p99"]}),
                    phase.presses, theirs)


def _target(phase: Phase, m: dict[str, float], f: dict[str, float]) -> tuple[str, bool]:
    if phase.rate <= CALM_RATE:
        return (f"p50 ≤ floor + {CALM_P50_OVER_FLOOR_MS} ms, p99 ≤ floor + "
                f"{CALM_P99_OVER_FLOOR_MS} ms; all played",
                m["p50"] <= f["p50"] + CALM_P50_OVER_FLOOR_MS
                and m["p99"] <= f["p99"] + CALM_P99_OVER_FLOOR_MS)
    return (f"p99 ≤ floor + {BUSY_P99_OVER_FLOOR_MS:g} ms, max ≤ {SLOW_MS:g} ms; all played",
            m["p99"] <= f["p99"] + BUSY_P99_OVER_FLOOR_MS and m["max"] <= SLOW_MS)


def _vipctl_row(phase: Phase, floor: Latencies, mine: Latencies, share: float, cpu_ms: float,
                logged: dict[str, int]) -> Row:
    unanswered = phase.presses - len(mine)  # of every press, the early run's too
    # An early guest's row times the arrival presses: the welcome, the preparation with it.
    if phase.variant == "early":
        mine = {i: v for i, v in mine.items() if i % 3 == 0}
        floor = {i: v for i, v in floor.items() if i % 3 == 0}
        what = f"{_what(phase)}: vipctl arrival press → welcome (F1), preparation run with it"
    else:
        what = f"{_what(phase)}: vipctl press → intercom command"
    m, f = summary(list(mine.values())), summary(list(floor.values()))
    unplayed = max(0, phase.presses - logged["announcements played"])
    target, timely = _target(phase, m, f)
    said = ", ".join(f"{v:,} {k}" for k, v in logged.items())
    result = (distribution(m) + f" (n={len(mine):,}; {_over_floor(m, f)}; daemon CPU "
              f"{share:.2f} core, {cpu_ms:.1f} ms a press)"
              + (f"; **{unplayed:,} of {phase.presses:,} not played** (its log: {said})"
                 if unplayed else ""))
    slow = over(mine.values(), SLOW_MS)
    return Row(what, result, target, timely and not unanswered and not unplayed,
               {**m, "p50_over_floor": m["p50"] - f["p50"],
                "p99_over_floor": m["p99"] - f["p99"], "cpu_share": share,
                "cpu_ms_per_answered_press": cpu_ms, "logged": logged, "unanswered": unanswered,
                "over_20_ms": slow, "unplayed": unplayed},
               complete=not unanswered and not unplayed, unanswered=unanswered, slow=slow)
