"""One visit's report, computed from its rows: pure functions, no database, no rendering.

What each line reads (the event log's kinds: controller/store/events.py):
- a step (a cue or a hold): its `cue` "started" event (when, and `due`), a "skipped" one
  (why), and its row in the executed-steps ledger (the result, and when it was marked);
- an announcement: its "queued", then "played", "failed" or "expired" events, by id;
- a press: a "trigger" event, with who pressed (`source`) and whether it was taken;
- a walk-in: a "walk_in" event "recorded" with the visit's id (never a phone number);
- the preflight: "preflight" events, one per device problem and one summary per run;
- a device that failed: a "failed" event (a command never confirmed).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from controller.store.report_rows import EventRecord, ReportRows, StepRecord, VisitRecord

# A step that began within this many seconds of its due time was on time. The procedure
# counts in minutes (T-45, T-10, T-5); a press's cue is due at the press.
ON_TIME_S = 60.0
# How an announcement ended, in its events' `result`.
ANNOUNCEMENT_ENDS = ("played", "failed", "expired")


@dataclass(frozen=True, slots=True)
class StepLine:
    key: str  # the cue's id, or "hold:<id>"
    description: str
    due: datetime | None
    started: datetime | None
    done: datetime | None  # when the ledger marked its result
    result: str  # ok, failed, skipped, skipped-late, or unfinished
    reason: str = ""  # why it was skipped

    @property
    def late_s(self) -> float | None:
        if self.due is None or self.started is None:
            return None
        return (self.started - self.due).total_seconds()

    @property
    def on_time(self) -> bool | None:
        late = self.late_s
        return None if late is None else late <= ON_TIME_S


@dataclass(frozen=True, slots=True)
class AnnouncementLine:
    key: str
    text: str
    step: str
    queued: datetime | None
    ended: datetime | None
    result: str  # played, failed, expired, or queued (never heard of again)
    reason: str = ""
    visit_id: str | None = None
    run_until: datetime | None = None  # expired: its cue was worth running until then


@dataclass(frozen=True, slots=True)
class PressLine:
    at: datetime
    trigger: str
    source: str
    taken: bool
    message: str = ""


@dataclass(frozen=True, slots=True)
class WalkInLine:
    at: datetime
    walk_in_id: int | None
    guest: str  # surname and honorific
    source: str
    during_visit: bool


@dataclass(frozen=True, slots=True)
class PreflightLine:
    at: datetime
    device: str | None  # None: the run's summary
    result: str  # ok, problem, cleared
    problem: str = ""  # offline, unreadable, no_answer; or "3 of 12" for a summary
    text: str = ""


@dataclass(frozen=True, slots=True)
class FailureLine:
    at: datetime
    device: str
    reason: str
    step: str


@dataclass(frozen=True, slots=True)
class VisitReport:
    visit: VisitRecord
    statuses: list[tuple[str, datetime]]
    steps: list[StepLine]
    announcements: list[AnnouncementLine]
    presses: list[PressLine]
    walk_ins: list[WalkInLine]
    preflight: list[PreflightLine]
    failures: list[FailureLine]
    commands: int = 0  # device commands that ended, confirmed or failed
    confirmed: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def guest(self) -> str:
        return f"{self.visit.surname}{self.visit.honorific}"


def _iso(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _text(detail: Mapping[str, Any], key: str) -> str:
    value = detail.get(key)
    return "" if value is None else str(value)


def _order(line: StepLine) -> tuple[bool, float, str]:
    when = line.due or line.started or line.done
    return (when is None, when.timestamp() if when else 0.0, line.key)


def step_lines(events: Iterable[EventRecord], ledger: Iterable[StepRecord]) -> list[StepLine]:
    """A visit's steps, in the order they were due (or begun)."""
    started: dict[str, EventRecord] = {}
    skipped: dict[str, EventRecord] = {}
    for event in events:
        if event.kind != "cue" or not isinstance(event.detail.get("cue"), str):
            continue
        key = event.detail["cue"]
        if event.result == "started":
            started.setdefault(key, event)
        elif event.result == "skipped" and "texts" not in event.detail:
            skipped.setdefault(key, event)  # (words left unsaid while the cue ran: not a skip)
    marks = {row.key: row for row in ledger}
    keys = list(dict.fromkeys([*started, *skipped,
                               *(k for k in marks if k not in ("restore", "no-show"))]))
    lines = []
    for key in keys:
        begun, skip, mark = started.get(key), skipped.get(key), marks.get(key)
        first = begun or skip
        detail = first.detail if first is not None else {}
        result = mark.result if mark is not None and mark.result else (
            "skipped" if skip else "unfinished")
        reason = ""
        if skip is not None:
            reason = _text(skip.detail, "reason") or _text(skip.detail, "message")
            if skip.detail.get("condition"):
                reason = f"{reason}: {skip.detail['condition']}"
        lines.append(StepLine(
            key=key, description=_text(detail, "description"),
            due=_iso(detail.get("due")), started=begun.at if begun else None,
            done=mark.result_at if mark is not None else None, result=result, reason=reason))
    return sorted(lines, key=_order)


def announcement_lines(events: Iterable[EventRecord]) -> list[AnnouncementLine]:
    """Every announcement, by its id (its text when it has none), as it ended."""
    found: dict[tuple[str | None, str], dict[str, Any]] = {}
    for event in events:
        if event.kind != "announcement":
            continue
        d = event.detail
        key = (event.visit_id, _text(d, "id") or _text(d, "text"))
        line = found.setdefault(key, {"text": _text(d, "text"), "step": _text(d, "step"),
                                      "queued": None, "ended": None, "result": "queued",
                                      "reason": "", "run_until": None})
        if event.result == "queued":
            line["queued"] = line["queued"] or event.at
        elif event.result in ANNOUNCEMENT_ENDS:
            line.update(ended=event.at, result=event.result, reason=_text(d, "reason"),
                        run_until=_iso(d.get("run_until")))
    return [AnnouncementLine(key=k[1], visit_id=k[0], **v) for k, v in found.items()]


def press_lines(events: Iterable[EventRecord]) -> list[PressLine]:
    return [PressLine(at=e.at, trigger=_text(e.detail, "trigger"), source=e.source or "",
                      taken=e.result == "ok", message=_text(e.detail, "message"))
            for e in events if e.kind == "trigger"]


def walk_in_lines(events: Iterable[EventRecord]) -> list[WalkInLine]:
    lines = []
    for e in events:
        if e.kind != "walk_in" or e.result != "recorded":
            continue
        number = e.detail.get("walk_in_id")
        lines.append(WalkInLine(
            at=e.at, walk_in_id=number if isinstance(number, int) else None,
            guest=_text(e.detail, "surname") + _text(e.detail, "honorific"),
            source=e.source or "", during_visit=bool(e.detail.get("during_visit"))))
    return lines


def preflight_lines(events: Iterable[EventRecord]) -> list[PreflightLine]:
    lines = []
    for e in events:
        if e.kind != "preflight":
            continue
        d = e.detail
        if e.device_id is None:
            problem = f"{d.get('problems', 0)}/{d.get('devices', 0)}"
            lines.append(PreflightLine(at=e.at, device=None, result=e.result or "",
                                       problem=problem))
        else:
            lines.append(PreflightLine(at=e.at, device=e.device_id, result=e.result or "",
                                       problem=_text(d, "problem"), text=_text(d, "text")))
    return lines


def failure_lines(events: Iterable[EventRecord]) -> list[FailureLine]:
    return [FailureLine(at=e.at, device=e.device_id or "", reason=_text(e.detail, "reason"),
                        step=_text(e.detail, "step"))
            for e in events if e.kind == "failed" and e.device_id]


def visit_report(rows: ReportRows, visit_id: str) -> VisitReport:
    """The report of one visit among `rows`; KeyError if it is not there."""
    visits = {v.id: v for v in rows.visits}
    visit = visits[visit_id]
    events = [e for e in rows.events if e.visit_id == visit_id]
    confirmed, failed = confirmation(events)
    return VisitReport(
        visit=visit,
        statuses=[(s.status, s.at) for s in rows.statuses if s.visit_id == visit_id],
        steps=step_lines(events, [s for s in rows.steps if s.visit_id == visit_id]),
        announcements=announcement_lines(events),
        presses=press_lines(events),
        walk_ins=walk_in_lines(events),
        preflight=preflight_lines(events),
        failures=failure_lines(events),
        commands=confirmed + failed,
        confirmed=confirmed,
    )


def confirmation(events: Iterable[EventRecord]) -> tuple[int, int]:
    """Device commands (announcements on the intercom too) confirmed by the device's report,
    and failed after every retry: each command ends one way or the other ("command" is
    written once per attempt)."""
    confirmed = failed = 0
    for e in events:
        if e.device_id and e.kind == "confirmed":
            confirmed += 1
        elif e.device_id and e.kind == "failed":
            failed += 1
    return confirmed, failed
