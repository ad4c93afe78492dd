"""The campaign's figures as markdown tables (like bench's) and the summary the JSON keeps."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bench.stats import percentile
from chaos.checker import Violation
from chaos.faults import FaultRecord
from chaos.plan import FAULT_KINDS


def recovery_by_kind(faults: Sequence[FaultRecord]) -> dict[str, dict[str, Any]]:
    """Per kind: how many were injected, recovery p50/p99/max (seconds), never recovered."""
    out: dict[str, dict[str, Any]] = {}
    for kind in FAULT_KINDS:
        done = [f for f in faults if f.kind == kind and f.injected]
        times = sorted(f.recovered_s for f in done if f.recovered_s is not None)
        out[kind] = {
            "injected": len(done),
            "planned": sum(1 for f in faults if f.kind == kind),
            "p50_s": round(percentile(times, 50), 3) if times else None,
            "p99_s": round(percentile(times, 99), 3) if times else None,
            "max_s": round(times[-1], 3) if times else None,
            "not_recovered": len(done) - len(times),
            "with_holds": sum(1 for f in done if f.holds_at_end),
        }
    return out


def _s(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def campaign_table(result: Mapping[str, Any]) -> str:
    lines = ["| fault | injected | held devices at its end | recovery p50 | p99 | max |",
             "|---|---|---|---|---|---|"]
    for kind, r in result["recovery"].items():
        lines.append(f"| {kind} | {r['injected']} | {r['with_holds']} | {_s(r['p50_s'])} s "
                     f"| {_s(r['p99_s'])} s | {_s(r['max_s'])} s |")
    kills = result["recovery"]["daemon-kill"]["injected"] + result["recovery"][
        "daemon-kill-commit"]["injected"]
    c = result["counts"]
    summary = [
        "",
        "| campaign | result |",
        "|---|---|",
        f"| visits | {result['cases']} ({c['done']} done) |",
        f"| faults injected | {c['faults']} (broker SIGKILLs {c['broker_kills']}, "
        f"daemon SIGKILLs {kills}, of which in the deferred-commit window "
        f"{c['kills_in_window']}) |",
        f"| announcements played · reported failed · skipped | {c['played']} · "
        f"{c['reported_failed']} · {c['skipped']} |",
        f"| presses repeated after a fault swallowed one | {c['repeated_presses']} |",
        f"| invariant violations | **{result['failures']}** |",
    ]
    return "\n".join(lines + summary)


def violations_table(violations: Sequence[Violation]) -> str:
    if not violations:
        return ""
    lines = ["| invariant | where | what |", "|---|---|---|"]
    lines += [f"| {v.invariant} | {v.where} | {v.what} |" for v in violations]
    return "\n".join(lines)


def parts_table(parts: Sequence[Mapping[str, Any]]) -> str:
    """The other parts (the fuzzers): one row each."""
    lines = ["| part | cases | failures | notes |", "|---|---|---|---|"]
    for p in parts:
        lines.append(f"| {p['name']} | {p['cases']} | {p['failures']} | {p.get('notes', '')} |")
    return "\n".join(lines)
