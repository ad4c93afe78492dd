"""The invariants, judged from outside the daemon: never from its own log.

What is read: the broker's record (the intercom gateway's `event` messages say what was
played), the loudspeaker's own list of what it said (the simulator), the database (visits,
their status history, the executed-steps ledger, the event log) and the fault records.

- every visit ends in the scene's final state: done, through arrival, show flat and
  departure, with its restore done; none left half-way;
- every announcement was played exactly once, or reported failed (an `announcement`
  event with result failed, or expired: its cue's run_until passed while it waited; or an
  alert naming it), or its cue was skipped with the reason in the event log: never twice,
  never silently lost;
- every cue ran, or was skipped by its late policy with the reason in the event log;
- after every fault the held devices were back within HOLDS_BACK_S, and the daemon was back
  on the broker; a half-open link was found by the keepalive while it lasted;
- when the last visit is over, the site is in its everyday state.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from contextlib import closing
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from chaos.faults import FaultRecord
from chaos.recorder import Seen
from scenes.model import Scene
from scenes.timeline import announcements

# An announcement's results that say, honestly, that it was not played.
NOT_SAID = ("failed", "expired")

HOLDS_BACK_S = 2.0  # the full campaign's bound (plan.CampaignConfig.holds_back_s)
EVENT_TOPIC = "vipctl/intercom/staff/event"
RECEPTION = ("booked", "preparing", "arrived", "at_show_flat", "departing", "done")
GUEST = dict.fromkeys(("surname", "honorific", "title", "full_name", "party_size",
                       "car_plate"), "x")


@dataclass(frozen=True)
class Violation:
    invariant: str
    where: str  # a visit id, a fault, a device
    what: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass
class Database:
    """The rows the checker reads, once, at the end of the run."""

    status: dict[str, str]
    history: dict[str, set[str]]
    steps: dict[tuple[str, str], str | None]
    events: list[tuple[str, str | None, dict[str, Any], str | None]]  # kind, visit, detail, result

    @classmethod
    def read(cls, path: Path) -> Database:
        with closing(sqlite3.connect(path)) as db:
            status = dict(db.execute("SELECT id, status FROM visits").fetchall())
            history: dict[str, set[str]] = {}
            for visit_id, st in db.execute("SELECT visit_id, status FROM visit_status_history"):
                history.setdefault(visit_id, set()).add(st)
            steps = {(v, k): r for v, k, r in
                     db.execute("SELECT visit_id, key, result FROM executed_steps")}
            events = [(k, v, json.loads(d) if d else {}, r) for k, v, d, r in
                      db.execute("SELECT kind, visit_id, detail, result FROM events")]
        return cls(status, history, steps, events)

    def reported_failed(self, visit_id: str, announcement_id: str) -> bool:
        return any(v == visit_id and announcement_id in (d.get("id"), *d.get("ids", ()))
                   and ((k == "announcement" and r in NOT_SAID) or k == "alert")
                   for k, v, d, r in self.events)

    def failed_announcements(self) -> set[str]:
        """Ids of announcements reported failed: by their event, or by an alert naming them."""
        out: set[str] = set()
        for k, _, d, r in self.events:
            if (k == "announcement" and r in NOT_SAID) or k == "alert":
                out.update(str(i) for i in (d.get("id"), *d.get("ids", ())) if i)
        return out

    def skip_logged(self, visit_id: str, cue_id: str) -> bool:
        return any(k == "cue" and v == visit_id and r == "skipped" and d.get("cue") == cue_id
                   for k, v, d, r in self.events)


def played(messages: Iterable[Seen]) -> Counter[str]:
    """Announcement id → how many times the gateway reported it played (not repeats)."""
    out: Counter[str] = Counter()
    for m in messages:
        if m.topic != EVENT_TOPIC:
            continue
        try:
            body = json.loads(m.payload)
        except ValueError:
            continue
        if body.get("event") == "done" and not body.get("duplicate"):
            out[str(body.get("id"))] += 1
    return out


def check_visits(scene: Scene, visits: Sequence[str], db: Database, on_wire: Counter[str],
                 spoken: Counter[str]) -> tuple[list[Violation], list[str]]:
    violations: list[Violation] = []
    notes: list[str] = []
    for v in visits:
        status = db.status.get(v)
        missing = [s for s in RECEPTION if s not in db.history.get(v, set())]
        if status != "done" or missing:
            violations.append(Violation("final-state", v, f"status {status}, never {missing}"))
        if db.steps.get((v, "restore"), "absent") != "ok":
            violations.append(Violation("restore", v, "the restore did not finish"))
        for cue in scene.cues:
            key = (v, cue.id)
            if key not in db.steps:
                violations.append(Violation("cue-ran", v, f"{cue.id} never ran"))
            elif db.steps[key] == "skipped-late" and not db.skip_logged(v, cue.id):
                violations.append(Violation("cue-ran", v, f"{cue.id} skipped, no reason logged"))
            elif db.steps[key] is None:
                notes.append(f"{v} {cue.id}: claimed, never finished (a SIGKILL mid-step)")
            for _, a in announcements(scene, cue, GUEST, key=v):
                violations += _announcement(db, v, cue.id, a.id, on_wire[a.id], spoken[a.id],
                                            notes)
    return violations, notes


def _announcement(db: Database, v: str, cue_id: str, a_id: str, wire: int, said: int,
                  notes: list[str]) -> list[Violation]:
    if wire > 1 or said > 1:
        return [Violation("announcement-once", v, f"{a_id} played {max(wire, said)} times")]
    if wire != said:
        notes.append(f"{a_id}: the gateway reported {wire} plays, its speaker said {said}")
    failed = db.reported_failed(v, a_id)
    if max(wire, said) == 1:
        if failed:
            notes.append(f"{a_id}: played, yet reported failed (it played late)")
        return []
    if failed or db.skip_logged(v, cue_id):
        return []
    step = db.steps.get((v, cue_id), "absent")
    return [Violation("announcement-once", v,
                      f"{a_id} never played and never reported failed (step {step})")]


def check_faults(faults: Sequence[FaultRecord], holds_back_s: float = HOLDS_BACK_S,
                 ) -> list[Violation]:
    out = []
    for f in faults:
        if not f.injected:
            continue
        where = f"{f.kind} #{f.visit} ({f.target})"
        if f.recovered_s is None:
            out.append(Violation("recovered", where, "not recovered within the limit"))
        elif f.holds_at_end and f.recovered_s > holds_back_s:
            out.append(Violation("holds-back", where,
                                 f"held states back after {f.recovered_s:.2f} s"))
        if f.kind == "half-open" and f.detail.get("found_after_s") is None:
            out.append(Violation("keepalive", where, "the dead link was never given up"))
    return out


def check_end(devices: Mapping[str, Mapping[str, Any]], everyday: Mapping[str, Mapping[str, Any]],
              ) -> list[Violation]:
    """The site after the last restore: `everyday` is what each device must show."""
    out = []
    for device_id, wanted in everyday.items():
        have = devices.get(device_id, {})
        wrong = {k: have.get(k) for k, want in wanted.items() if have.get(k) != want}
        if wrong:
            out.append(Violation("everyday-state", device_id, f"{wrong}, not {dict(wanted)}"))
    return out
