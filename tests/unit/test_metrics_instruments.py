"""vipctl's lock-free instruments (controller/engine/metrics.py) expose exactly what
prometheus-client's own Histogram and Counter would for the same observations."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import Metric
from prometheus_client.parser import text_string_to_metric_families

from controller.engine.metrics import LATENESS_BUCKETS, Distribution, Tally

# On a bucket's bound (le is inclusive), between bounds, below the first, above the last.
VALUES = [0.0005, 0.001, 0.0011, 0.003, 0.003, 7.0, 300.0, 1000.0]


class _Families:
    def __init__(self, *families: Metric) -> None:
        self.families = families

    def collect(self) -> tuple[Metric, ...]:
        return self.families


def parsed(text: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for f in text_string_to_metric_families(text.decode())
            for s in f.samples if not s.name.endswith("_created")}


def test_a_distribution_is_prometheus_clients_histogram() -> None:
    ours = Distribution(LATENESS_BUCKETS)
    registry = CollectorRegistry()
    theirs = Histogram("vipctl_cue_lateness_seconds", "d", ["cue"], buckets=LATENESS_BUCKETS,
                       registry=registry)
    for value in VALUES:
        ours.observe(value, "p10")
        theirs.labels("p10").observe(value)
    ours.observe(0.02, "p2")
    theirs.labels("p2").observe(0.02)
    mine = generate_latest(_Families(ours.family("cue_lateness_seconds", "d", ["cue"])))
    assert parsed(mine) == parsed(generate_latest(registry))


def test_a_tally_is_prometheus_clients_counter() -> None:
    ours = Tally()
    registry = CollectorRegistry()
    theirs = Counter("vipctl_commands_failed", "d", ["device"], registry=registry)
    ours.seed("spotlights")
    theirs.labels("spotlights")
    for _ in range(3):
        ours.inc("hall_lights")
        theirs.labels("hall_lights").inc()
    mine = generate_latest(_Families(ours.family("commands_failed", "d", ["device"])))
    assert parsed(mine) == parsed(generate_latest(registry))
