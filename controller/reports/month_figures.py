"""A month's report (品质月报), computed from its rows: pure functions, no database.

An event belongs to the month if its visit is one of the month's (booked to start in it,
in the site's timezone; its preparation may begin the day before), or if it has no visit
and was written in the month. Callbacks waiting: walk-ins recorded by the month's end and
not booked by then, whenever they were recorded.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from statistics import fmean
from zoneinfo import ZoneInfo

from controller.reports.period import Month
from controller.reports.visit_figures import (
    ON_TIME_S,
    AnnouncementLine,
    StepLine,
    announcement_lines,
    confirmation,
    step_lines,
)
from controller.store.report_rows import EventRecord, ReportRows

# The outcomes a month counts; any other status is a visit not over yet ("open").
OUTCOMES = ("done", "no_show", "cancelled")
OPEN = "open"


@dataclass(frozen=True, slots=True)
class StepRate:
    key: str
    description: str
    ran: int  # begun, with a due time
    on_time: int
    missed: int  # skipped as stale, or never finished
    late_s: list[float]  # every lateness, seconds

    @property
    def rate(self) -> float | None:
        counted = self.ran + self.missed
        return self.on_time / counted if counted else None

    @property
    def mean_late_s(self) -> float:
        return fmean(self.late_s) if self.late_s else 0.0

    @property
    def max_late_s(self) -> float:
        return max(self.late_s, default=0.0)


@dataclass(frozen=True, slots=True)
class DeviceRank:
    device: str
    failures: int
    preflight_problems: int


@dataclass(frozen=True, slots=True)
class Callback:
    walk_in_id: int
    at: datetime
    guest: str


@dataclass(frozen=True, slots=True)
class MonthReport:
    month: Month
    sites: list[str]
    outcomes: dict[str, int]  # OUTCOMES and OPEN → visits
    by_site: dict[str, dict[str, int]]  # site → outcomes, when several
    steps: list[StepRate]
    confirmed: int
    failed: int
    devices: list[DeviceRank]  # most failures first
    failed_announcements: list[AnnouncementLine]
    walk_ins: int
    walk_ins_during_visits: int
    callbacks: list[Callback]
    preflight_runs: int
    preflight_with_problems: int
    preflight_problems: dict[str, int]  # problem code → count
    weeks: list[tuple[date, dict[str, int]]]  # Monday → outcomes of visits starting that week

    @property
    def visits(self) -> int:
        return sum(self.outcomes.values())

    @property
    def confirmation_rate(self) -> float | None:
        ended = self.confirmed + self.failed
        return self.confirmed / ended if ended else None


def outcome(status: str) -> str:
    return status if status in OUTCOMES else OPEN


def _count(statuses: Iterable[str]) -> dict[str, int]:
    counted = Counter(outcome(s) for s in statuses)
    return {k: counted.get(k, 0) for k in (*OUTCOMES, OPEN)}


@dataclass(slots=True)
class _Tally:
    description: str = ""
    ran: int = 0
    on_time: int = 0
    missed: int = 0
    late_s: list[float] = field(default_factory=list)


def step_rates(lines: Iterable[StepLine]) -> list[StepRate]:
    """On-time rate per step of the procedure, in the order the steps are first met. A step
    skipped because its condition was false was not due: it counts nowhere."""
    found: dict[str, _Tally] = {}
    for line in lines:
        tally = found.setdefault(line.key, _Tally())
        tally.description = tally.description or line.description
        late = line.late_s
        if late is not None:
            tally.ran += 1
            tally.on_time += late <= ON_TIME_S
            tally.late_s.append(late)
        elif line.result in ("skipped-late", "unfinished"):
            tally.missed += 1
    return [StepRate(key=k, description=t.description, ran=t.ran, on_time=t.on_time,
                     missed=t.missed, late_s=t.late_s) for k, t in found.items()]


def device_ranks(events: Iterable[EventRecord]) -> list[DeviceRank]:
    failures: Counter[str] = Counter()
    problems: Counter[str] = Counter()
    for e in events:
        if e.kind == "failed" and e.device_id:
            failures[e.device_id] += 1
        elif e.kind == "preflight" and e.device_id and e.result == "problem":
            problems[e.device_id] += 1
    ranked = [DeviceRank(d, failures[d], problems[d]) for d in set(failures) | set(problems)]
    return sorted(ranked, key=lambda r: (-r.failures, -r.preflight_problems, r.device))


def callbacks_waiting(events: Iterable[EventRecord], until: datetime) -> list[Callback]:
    recorded: dict[int, Callback] = {}
    booked: set[int] = set()
    for e in events:
        number = e.detail.get("walk_in_id")
        if e.kind != "walk_in" or e.at >= until or not isinstance(number, int):
            continue
        if e.result == "recorded":
            recorded[number] = Callback(number, e.at, f"{e.detail.get('surname') or ''}"
                                                      f"{e.detail.get('honorific') or ''}")
        elif e.result == "booked":
            booked.add(number)
    return [c for n, c in sorted(recorded.items()) if n not in booked]


def month_report(rows: ReportRows, month: Month, tz: ZoneInfo) -> MonthReport:
    since, until = month.bounds(tz)
    visits = [v for v in rows.visits if since <= v.start < until]
    ids = {v.id for v in visits}
    events = [e for e in rows.events if e.visit_id in ids
              or (e.visit_id is None and since <= e.at < until)]
    lines = [line for v in visits for line in step_lines(
        [e for e in events if e.visit_id == v.id],
        [s for s in rows.steps if s.visit_id == v.id])]
    weeks = month.weeks()
    by_week: dict[date, list[str]] = {w: [] for w in weeks}
    for v in visits:
        day = v.start.astimezone(tz).date()
        by_week[day - timedelta(days=day.weekday())].append(v.status)
    sites = sorted({v.site_id for v in visits} | {e.site_id for e in events})
    preflight = [e for e in events if e.kind == "preflight"]
    summaries = [e for e in preflight if e.device_id is None]
    walk_ins = [e for e in events if e.kind == "walk_in" and e.result == "recorded"]
    confirmed, failed = confirmation(events)
    return MonthReport(
        month=month, sites=sites,
        outcomes=_count(v.status for v in visits),
        by_site={s: _count(v.status for v in visits if v.site_id == s) for s in sites}
        if len(sites) > 1 else {},
        steps=step_rates(lines),
        confirmed=confirmed, failed=failed,
        devices=device_ranks(events),
        failed_announcements=[a for a in announcement_lines(events)
                              if a.result in ("failed", "expired")],
        walk_ins=len(walk_ins),
        walk_ins_during_visits=sum(1 for e in walk_ins if e.detail.get("during_visit")),
        callbacks=callbacks_waiting(rows.events, until),
        preflight_runs=len(summaries),
        preflight_with_problems=sum(1 for e in summaries if e.result == "problem"),
        preflight_problems=dict(Counter(str(e.detail.get("problem")) for e in preflight
                                        if e.device_id and e.result == "problem")),
        weeks=[(w, _count(by_week[w])) for w in weeks],
    )
