"""What the daemon counts for Prometheus, and how a scrape reads it (`GET /metrics`).

The instruments sit where the facts already are: the engine's steps observe a cue's
lateness, the announcer counts what was played or failed, and a listener on every device
sees commands confirmed and failed. They are plain integers and floats changed on the event
loop, not prometheus-client's Counter and Histogram, whose every increment takes a lock: a
button press pays a dictionary lookup and an addition, nothing else. What is already state
somewhere (a device's availability, the intercom queues, the visits in the database) is
not counted at all but read when scraped.

A scrape (`MetricsExporter.render`) copies the counts on the loop (microseconds), counts the
visits by status in the database's reader thread, and builds the text there too, with the
process and platform collectors of prometheus-client, from a registry of the daemon's own
(several daemons in one process, as in the tests, never share one).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.utils import floatToGoString
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from controller.store.database import Database
from controller.store.tables import VisitRow
from controller.store.visits import VisitStatus
from devices.capabilities import Intercom
from devices.device import DeviceEvent
from devices.registry import DeviceRegistry

# From a timer firing on time (~1 ms, README "Performance") to a cue run after a restart,
# hours late (the air conditioning is still worth it): seconds.
LATENESS_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                    10.0, 30.0, 60.0, 300.0)
# A report on the LAN comes in milliseconds; an intercom's "played" after the words are
# said, seconds; the site's default confirm_timeout is 3 s a try, retries included: seconds.
CONFIRMATION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                        5.0, 10.0, 30.0)
PREFIX = "vipctl_"

Labels = tuple[str, ...]


class Tally:
    """A counter per label values, changed only on the event loop."""

    def __init__(self) -> None:
        self.counts: dict[Labels, int] = {}

    def inc(self, *labels: str) -> None:
        self.counts[labels] = self.counts.get(labels, 0) + 1

    def seed(self, *labels: str) -> None:
        """Show the series at 0 before its first event (rate() needs a start)."""
        self.counts.setdefault(labels, 0)

    def family(self, name: str, doc: str, label_names: Sequence[str]) -> CounterMetricFamily:
        family = CounterMetricFamily(PREFIX + name, doc, labels=label_names)
        for labels, count in sorted(self.counts.items()):
            family.add_metric(labels, count)
        return family


@dataclass(slots=True)
class _Spread:
    buckets: list[int]  # observations per bucket, not cumulative; the last one is +Inf
    total: float = 0.0


@dataclass(slots=True)
class Distribution:
    """A histogram per label values, changed only on the event loop."""

    bounds: tuple[float, ...]
    series: dict[Labels, _Spread] = field(default_factory=dict)

    def observe(self, value: float, *labels: str) -> None:
        spread = self.series.get(labels)
        if spread is None:
            spread = self.series[labels] = _Spread([0] * (len(self.bounds) + 1))
        spread.buckets[bisect_left(self.bounds, value)] += 1  # le: value <= bound
        spread.total += value

    def family(self, name: str, doc: str, label_names: Sequence[str]) -> HistogramMetricFamily:
        family = HistogramMetricFamily(PREFIX + name, doc, labels=label_names)
        edges = [*map(floatToGoString, self.bounds), "+Inf"]
        for labels, spread in sorted(self.series.items()):
            running, cumulative = 0, []
            for edge, count in zip(edges, spread.buckets, strict=True):
                running += count
                cumulative.append((edge, float(running)))
            family.add_metric(labels, cumulative, spread.total)
        return family


class Metrics:
    """The daemon's instruments. Every method is for the event loop's thread."""

    def __init__(self) -> None:
        self.cue_lateness = Distribution(LATENESS_BUCKETS)
        self.confirmation = Distribution(CONFIRMATION_BUCKETS)
        self.commands_failed = Tally()
        self.played = Tally()
        self.failed = Tally()
        self._conventions: dict[str, str] = {}

    def watch(self, registry: DeviceRegistry) -> None:
        """Listen to every device's confirmations and failures."""
        for device in registry.devices.values():
            convention = device.codec.convention
            self._conventions[device.id] = convention
            self.commands_failed.seed(device.id, convention)
            if isinstance(device, Intercom):
                self.played.seed(device.id)
                self.failed.seed(device.id)
            device.add_listener(self._on_device_event)

    def _on_device_event(self, event: DeviceEvent) -> None:
        kind = event.kind
        if kind == "confirmed":
            # An assumed device's "confirmation" is its own command trusted: nothing timed.
            if not event.detail.get("assumed"):
                self.confirmation.observe(event.detail["elapsed_ms"] / 1000,
                                          self._conventions[event.device_id])
        elif kind == "failed":
            self.commands_failed.inc(event.device_id, self._conventions[event.device_id])

    def cue_started(self, cue_id: str, late_s: float) -> None:
        self.cue_lateness.observe(max(0.0, late_s), cue_id)

    def announced(self, intercom_id: str, *, played: bool) -> None:
        (self.played if played else self.failed).inc(intercom_id)

    def families(self) -> list[Metric]:
        """The instruments as metric families, built now: on the loop, which alone changes
        them, so that a scrape never sees half an observation."""
        return [
            self.cue_lateness.family(
                "cue_lateness_seconds", "From a cue's due time to vipctl starting it "
                "(a cue set off by a press: from the press)", ["cue"]),
            self.confirmation.family(
                "command_confirmation_seconds", "From a command's first send to the device's "
                "report confirming it, retries included", ["convention"]),
            self.commands_failed.family("commands_failed",
                         "Commands a device never confirmed after every retry",
                         ["device", "convention"]),
            self.played.family("announcements_played",
                         "Announcements the intercom reported played", ["intercom"]),
            self.failed.family("announcements_failed",
                         "Announcements not played: unconfirmed, refused or crashed",
                         ["intercom"]),
        ]


def count_visits(db: Database, session: Session) -> dict[str, int]:
    """This site's visits per status, every status present (0 when none)."""
    rows = session.execute(select(VisitRow.status, func.count()).where(
        VisitRow.site_id == db.site_id).group_by(VisitRow.status)).all()
    counts = {status.value: 0 for status in VisitStatus}
    counts.update({str(status): int(n) for status, n in rows})
    return counts


@dataclass(frozen=True, slots=True)
class _Scrape:
    """One scrape's families: the loop's copy, then the registry's collectors."""

    taken: list[Metric]
    registry: CollectorRegistry

    def collect(self) -> Iterable[Metric]:
        yield from self.taken
        yield from self.registry.collect()


class MetricsExporter:
    """Reads the instruments and the state worth showing, for `GET /metrics`."""

    def __init__(self, metrics: Metrics, *, devices: DeviceRegistry, db: Database,
                 queue_depth: Callable[[str], int]) -> None:
        """`queue_depth(intercom_id)`: the announcements waiting on that intercom."""
        self.metrics = metrics
        self.devices = devices
        self.db = db
        self.queue_depth = queue_depth
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)

    async def render(self) -> bytes:
        """The exposition text (Prometheus text format 0.0.4, which every Prometheus
        reads), built off the loop."""
        visits = await self.db.read_off_loop(lambda session: count_visits(self.db, session))
        taken = [*self.metrics.families(), *self._state(visits)]
        return await self.db.off_loop(lambda: generate_latest(_Scrape(taken, self.registry)))

    def _state(self, visits: Mapping[str, int]) -> Iterator[Metric]:
        available = GaugeMetricFamily(
            PREFIX + "device_available", "1 while the device is online and has reported; "
            "0 while offline or not heard from since start-up", labels=["device"])
        for device_id, device in self.devices.devices.items():
            available.add_metric([device_id], 1.0 if device.available else 0.0)
        yield available
        depth = GaugeMetricFamily(
            PREFIX + "announcement_queue_depth", "Announcements waiting on an intercom (not "
            "counting the one being said)", labels=["intercom"])
        for intercom_id in self.devices.having(Intercom):
            depth.add_metric([intercom_id], float(self.queue_depth(intercom_id)))
        yield depth
        by_status = GaugeMetricFamily(PREFIX + "visits", "This site's visits in the database "
                                      "by status", labels=["status"])
        for status, count in visits.items():
            by_status.add_metric([status], float(count))
        yield by_status
