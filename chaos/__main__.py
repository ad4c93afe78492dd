"""`python -m chaos`: the reliability campaign and its companions; tables and JSON.

    python -m chaos                  # the full campaign: 100 visits, ~20 minutes
    python -m chaos --quick          # about 10 visits, every fault kind once (CI, ~2.5 minutes)
    python -m chaos --seed 7 --out chaos/results.json

Each part takes a work folder, quick and a seed, and returns at least {"name", "cases",
"failures"}. The tables go to stdout; the JSON (machine, load, every part's result with
its raw records) to --out. Work files (the site, the database, the broker's record, every
process's log) stay in a temporary folder, named at the end. Exits 0 when no part failed.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from bench import machine
from chaos import campaign, fuzz_api, fuzz_mqtt, report
from chaos.checker import Violation

# Exit status when a part ran through and found failures (a crash exits with 1).
EXIT_FAILURES = 3
Part = Callable[..., dict[str, Any]]  # run(work, *, quick: bool, seed: int)
# The parts, in the order they run.
PARTS: list[tuple[str, Part]] = [
    ("campaign", campaign.run),
    ("fuzz-mqtt", fuzz_mqtt.run),
    ("fuzz-api", fuzz_api.run),
]


def tables(results: list[dict[str, Any]]) -> str:
    """The campaign's own tables, then one row for each other part."""
    out = []
    for r in results:
        if r["name"] == "campaign":
            out.append(r["table"])
            broken = report.violations_table([Violation(**v) for v in r["violations"]])
            if broken:
                out.append(broken)
    others = [r for r in results if r["name"] != "campaign"]
    if others:
        out.append(report.parts_table(others))
    return "\n\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chaos", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="about 10 visits (CI)")
    parser.add_argument("--seed", type=int, default=1, help="the fault schedule's seed")
    parser.add_argument("--only", default="", help=f"comma-separated, of: "
                        f"{', '.join(n for n, _ in PARTS)}")
    parser.add_argument("--out", type=Path, default=Path("chaos/results.json"),
                        help="where the JSON goes (default: chaos/results.json)")
    args = parser.parse_args(argv)
    # A SIGTERM ends the run as Ctrl-C does, through every `finally`: the daemon and the
    # broker it started are stopped, not left running on their own.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    names = [n for n in args.only.split(",") if n] or [n for n, _ in PARTS]
    unknown = set(names) - {n for n, _ in PARTS}
    if unknown:
        parser.error(f"no such part: {', '.join(sorted(unknown))}")

    info = machine.describe()
    print(f"machine: {machine.summary(info)}\nload average at start: {machine.load()}",
          file=sys.stderr)
    work = Path(tempfile.mkdtemp(prefix="vipctl-chaos-"))
    load_at_start = machine.load()
    results, timings = [], {}
    for name, part in PARTS:
        if name not in names:
            continue
        print(f"running {name} ...", file=sys.stderr, flush=True)
        t0 = time.monotonic()
        results.append(part(work / name, quick=args.quick, seed=args.seed))
        timings[name] = round(time.monotonic() - t0, 1)
    table = tables(results)
    print(table)
    out: dict[str, Any] = {
        "when": datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": info, "load_average": {"start": load_at_start, "end": machine.load()},
        "quick": args.quick, "seed": args.seed, "seconds": timings, "work": str(work),
        "parts": results, "table": table,
    }
    args.out.write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n")
    print(f"load average at end: {machine.load()}; JSON: {args.out}; work files: {work}",
          file=sys.stderr)
    return 0 if all(r["failures"] == 0 for r in results) else EXIT_FAILURES


if __name__ == "__main__":
    sys.exit(main())
