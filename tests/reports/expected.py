"""The month's figures computed again, here, straight from the database's rows, by code that
shares nothing with controller/reports: what the report must say."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, text

ON_TIME_S = 60.0  # as docs/reports.md defines it


def _aware(value: Any) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo("UTC"))


def expected_figures(url: str, site_id: str, since: datetime, until: datetime,
                     ) -> dict[str, Any]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            visits = [dict(r) for r in conn.execute(text(
                "SELECT id, status, start_at FROM visits WHERE site_id = :s"),
                {"s": site_id}).mappings()]
            events = [dict(r) for r in conn.execute(text(
                "SELECT at, kind, visit_id, device_id, result, detail FROM events "
                "WHERE site_id = :s ORDER BY id"), {"s": site_id}).mappings()]
            steps = [dict(r) for r in conn.execute(text(
                "SELECT visit_id, key, result FROM executed_steps WHERE site_id = :s"),
                {"s": site_id}).mappings()]
    finally:
        engine.dispose()
    for e in events:
        e["at"] = _aware(e["at"])
        e["detail"] = json.loads(e["detail"]) if isinstance(e["detail"], str) else (
            e["detail"] or {})
    month = [v for v in visits if since <= _aware(v["start_at"]) < until]
    ids = {v["id"] for v in month}
    mine = [e for e in events if e["visit_id"] in ids
            or (e["visit_id"] is None and since <= e["at"] < until)]

    outcomes = Counter(v["status"] if v["status"] in ("done", "no_show", "cancelled")
                       else "open" for v in month)

    on_time: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])  # ran, on time, missed
    for e in mine:
        if e["kind"] == "cue" and e["result"] == "started" and e["detail"].get("due"):
            late = (e["at"] - _aware(e["detail"]["due"])).total_seconds()
            on_time[e["detail"]["cue"]][0] += 1
            on_time[e["detail"]["cue"]][1] += late <= ON_TIME_S
    for s in steps:
        if s["visit_id"] in ids and s["result"] == "skipped-late":
            on_time[s["key"]][2] += 1

    failures = Counter(e["device_id"] for e in mine if e["kind"] == "failed")
    problems = Counter(e["device_id"] for e in mine if e["kind"] == "preflight"
                       and e["device_id"] and e["result"] == "problem")
    ranking = sorted(set(failures) | set(problems),
                     key=lambda d: (-failures[d], -problems[d], d))

    recorded, booked = {}, set()
    for e in events:
        if e["kind"] == "walk_in" and e["at"] < until:
            if e["result"] == "recorded":
                recorded[e["detail"]["walk_in_id"]] = e["detail"]["surname"]
            elif e["result"] == "booked":
                booked.add(e["detail"]["walk_in_id"])

    weeks: Counter[str] = Counter()
    for v in month:
        day = _aware(v["start_at"]).astimezone(since.tzinfo).date()
        weeks[str(day - timedelta(days=day.weekday()))] += 1

    return {
        "outcomes": {k: outcomes.get(k, 0) for k in ("done", "no_show", "cancelled", "open")},
        "steps": {k: tuple(v) for k, v in on_time.items()},
        "confirmed": sum(1 for e in mine if e["kind"] == "confirmed"),
        "failed": sum(1 for e in mine if e["kind"] == "failed"),
        "devices": [(d, failures[d], problems[d]) for d in ranking],
        "failed_announcements": sorted(
            e["detail"]["text"] for e in mine
            if e["kind"] == "announcement" and e["result"] in ("failed", "expired")),
        "callbacks": sorted(n for n in recorded if n not in booked),
        "walk_ins": sum(1 for e in mine if e["kind"] == "walk_in" and e["result"] == "recorded"),
        "preflight_runs": sum(1 for e in mine if e["kind"] == "preflight"
                              and e["device_id"] is None),
        "weeks": dict(weeks),
    }
