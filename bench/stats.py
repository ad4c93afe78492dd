"""Summaries of samples and the rows of the results table."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

# A press answered later than this counts as slow in its own column (issue 16's max target).
SLOW_MS = 20.0


def percentile(sorted_samples: Sequence[float], p: float) -> float:
    """Nearest-rank percentile of already sorted samples (p in 0..100)."""
    if not sorted_samples:
        return math.nan
    rank = max(1, math.ceil(p / 100 * len(sorted_samples)))
    return sorted_samples[rank - 1]


def summary(samples: Sequence[float]) -> dict[str, float]:
    """p50, p90, p99 and max of `samples` (any unit), and how many there were."""
    ordered = sorted(samples)
    return {
        "n": len(ordered),
        "p50": percentile(ordered, 50),
        "p90": percentile(ordered, 90),
        "p99": percentile(ordered, 99),
        "max": ordered[-1] if ordered else math.nan,
    }


def ms(value: float) -> str:
    """A duration in milliseconds, as the table shows it."""
    if math.isnan(value):
        return "–"
    return f"{value:.2f}" if value < 10 else f"{value:.1f}" if value < 100 else f"{value:.0f}"


def distribution(s: dict[str, float], *, unit: str = "ms", p90: bool = True) -> str:
    parts = [f"p50 {ms(s['p50'])}"]
    if p90:
        parts.append(f"p90 {ms(s['p90'])}")
    parts += [f"p99 {ms(s['p99'])}", f"max {ms(s['max'])} {unit}"]
    return " · ".join(parts)


@dataclass
class Row:
    """One line of the table: what was measured, the result, the target, and whether met."""

    measurement: str
    result: str
    target: str = ""
    met: bool | None = None  # None: a reference (the floor), no target of its own
    values: dict[str, Any] = field(default_factory=dict)  # the raw numbers, for the JSON
    # False when something was lost or wrong (a press unanswered, a state not the last one
    # reported), whatever the timing: a fault, not a slow result.
    complete: bool = True
    # Trigger rows only: presses never answered, and answered later than SLOW_MS, counted
    # (a stall that hits under 1 % of presses hides behind every percentile).
    unanswered: int | None = None
    slow: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def over(samples: Iterable[float], limit_ms: float = SLOW_MS) -> int:
    """How many samples exceed `limit_ms`."""
    return sum(1 for s in samples if s > limit_ms)


def _count(n: int | None) -> str:
    return "" if n is None else f"**{n:,}**" if n else "0"


def markdown(rows: Sequence[Row]) -> str:
    lines = [f"| measurement | result | unanswered | over {SLOW_MS:g} ms | target | met |",
             "|---|---|---|---|---|---|"]
    for row in rows:
        met = "" if row.met is None else ("yes" if row.met else "**no**")
        lines.append(f"| {row.measurement} | {row.result} | {_count(row.unanswered)} "
                     f"| {_count(row.slow)} | {row.target} | {met} |")
    return "\n".join(lines)
