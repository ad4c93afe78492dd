"""`python -m bench`: every measurement against a mosquitto of its own; a table and JSON.

    python -m bench                  # the whole run, as issues 7 and 16 ask (about 7 minutes)
    python -m bench --quick          # small numbers: that every part runs, not how fast
    python -m bench --only trigger,cues --out results.json
    python -m bench --peers          # Node-RED in the trigger rows too (bench/peers.py)

The table goes to stdout; the JSON (machine, load, every row with its raw numbers) to
--out. Work files (generated sites, databases, every process's log) stay in a temporary
folder, named at the end.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from bench import api_load, cues, group, machine, recovery, startup, state_flood, trigger
from bench.broker import BenchBroker
from bench.stats import Row, markdown
from tests.broker import Mosquitto

# The exit status of a run that finished but missed a target (a crash exits with 1).
EXIT_MISSED = 3
Bench = Callable[[Mosquitto, Path], list[Row]]
NAMES = ("trigger", "cues", "startup", "flood", "load", "group", "recovery", "api_load")


def plan(*, quick: bool, peers: bool) -> dict[str, Bench]:
    """Every measurement, full size or small (`quick`); `peers`: Node-RED beside vipctl."""
    if not quick:
        return {
            "trigger": lambda b, w: trigger.run(b, w, trigger.TriggerConfig(peers=peers)),
            "cues": lambda b, w: cues.run(b, w, cues.CueConfig()),
            "startup": lambda b, w: startup.run(b, w, startup.StartupConfig()),
            "flood": lambda b, w: state_flood.run(b, w, state_flood.FloodConfig()),
            "load": lambda b, w: state_flood.run(b, w, state_flood.LOAD),
            "group": lambda b, w: group.run(b, w, group.GroupConfig()),
            "recovery": lambda b, w: recovery.run(b, w, recovery.RecoveryConfig()),
            "api_load": lambda b, w: api_load.run(b, w, api_load.ApiLoadConfig()),
        }
    return {
        "trigger": lambda b, w: trigger.run(b, w, trigger.TriggerConfig(
            presses=30, rate=100, calm_presses=0, early_presses=6, early_rate=1.0, settle=0.2,
            peers=peers)),
        "cues": lambda b, w: cues.run(b, w, cues.CueConfig(cues=10, seconds=1.0, lead=1.5)),
        "startup": lambda b, w: startup.run(b, w, startup.StartupConfig(visits=100, starts=1)),
        "flood": lambda b, w: state_flood.run(b, w, state_flood.FloodConfig(
            devices=20, rate=400, seconds=1.0, clients=2, settle=0.2)),
        "load": lambda b, w: state_flood.run(b, w, state_flood.FloodConfig(
            devices=20, rate=1000, seconds=1.0, clients=2, settle=0.2)),
        "group": lambda b, w: group.run(b, w, group.GroupConfig(lights=10, rounds=2)),
        "recovery": lambda b, w: recovery.run(b, w, recovery.RecoveryConfig(
            kills=1, speed=3000, lead=1.0)),
        "api_load": lambda b, w: api_load.run(b, w, api_load.ApiLoadConfig(
            visits=300, viewers=2, presses=15, rate=20, settle=0.2)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small numbers (a smoke test)")
    parser.add_argument("--only", default="", help=f"comma-separated, of: {', '.join(NAMES)}")
    parser.add_argument("--peers", action="store_true",
                        help="Node-RED beside vipctl in the trigger rows (scripts/bench --peers "
                             "installs it; without Node.js the row says skipped)")
    parser.add_argument("--out", type=Path, default=Path("bench/results.json"),
                        help="where the JSON goes (default: bench/results.json)")
    args = parser.parse_args(argv)
    benches = plan(quick=args.quick, peers=args.peers)
    names = [n for n in args.only.split(",") if n] or list(benches)
    unknown = set(names) - set(benches)
    if unknown:
        parser.error(f"no such measurement: {', '.join(sorted(unknown))}")

    info = machine.describe()
    print(f"machine: {machine.summary(info)}\nload average at start: {machine.load()}",
          file=sys.stderr)
    work = Path(tempfile.mkdtemp(prefix="vipctl-bench-"))
    broker = BenchBroker()
    broker.start()
    rows: list[Row] = []
    timings: dict[str, float] = {}
    load_at_start = machine.load()
    try:
        for name in names:
            print(f"running {name} ...", file=sys.stderr, flush=True)
            t0 = time.monotonic()
            rows += benches[name](broker, work)
            timings[name] = round(time.monotonic() - t0, 1)
    finally:
        broker.stop()
    table = markdown(rows)
    print(table)
    report: dict[str, Any] = {
        "when": datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": info, "load_average": {"start": load_at_start, "end": machine.load()},
        "quick": args.quick, "peers": args.peers, "seconds": timings, "work": str(work),
        "rows": [r.as_dict() for r in rows], "table": table,
    }
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(f"load average at end: {machine.load()}; JSON: {args.out}; work files: {work}",
          file=sys.stderr)
    return 0 if all(r.met is not False for r in rows) else EXIT_MISSED


if __name__ == "__main__":
    sys.exit(main())
