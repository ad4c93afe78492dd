"""The chaos campaign: visits under a seeded fault schedule, then the invariants checked.

    run(work, quick=True, seed=1)  → {"name": "campaign", "cases": visits, "failures": …}

The visits are booked, the daemon started, and two tasks run side by side: the staff
pressing the button for each visit in turn (driver.py) and the faults, one at a time, each
at its planned moment (plan.py, faults.py). When the last visit is over, the daemon is
stopped and the checker reads the record.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bench.procs import DAEMON_READY
from chaos import checker, report
from chaos.driver import PressLog, drive
from chaos.faults import INJECTORS, FaultRecord
from chaos.plan import FULL, QUICK, CampaignConfig, PlannedFault, schedule
from chaos.rig import Rig
from chaos.site import Booked, book_visits
from controller.config.site import load_site
from scenes.loader import load_scene

STARTUP_S = 3.0  # from booking to the first preparation cue: the daemon starts meanwhile
QUIET_LIMIT_S = 90.0  # after the last press, how long the last restore and words may take
# The site's everyday state, once the last visit is over (the scene's restore; P3's music).
EVERYDAY: dict[str, dict[str, Any]] = {
    "model_area_lights": {"power": False}, "hall_lights": {"power": False},
    "vip_room_video": {"power": False}, "vip_room_ac": {"power": False},
    "background_music": {"power": True, "playback": "playing"}}


def run(work: Path, *, quick: bool, seed: int) -> dict[str, Any]:
    config = replace(QUICK if quick else FULL, seed=seed)
    folder = work / "campaign"
    folder.mkdir(parents=True, exist_ok=True)
    return asyncio.run(campaign(folder, config))


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


async def campaign(work: Path, config: CampaignConfig) -> dict[str, Any]:
    began = time.monotonic()
    rig = Rig(work, speed=config.speed)
    plan = schedule(config)
    async with rig.running():
        tz = load_site(rig.site_path).site.tz
        first = datetime.now(tz) + timedelta(seconds=config.lead_s + STARTUP_S)
        booked = book_visits(rig.site_path, count=config.visits, first=first,
                             spacing=timedelta(seconds=config.spacing_s),
                             duration=timedelta(seconds=config.duration_s), speed=config.speed)
        daemon = rig.start_daemon()
        await asyncio.to_thread(daemon.wait_for, DAEMON_READY)
        offset = time.time() - time.monotonic()
        staff = asyncio.create_task(drive(rig, booked, offset))
        faults = await inject_all(rig, plan, booked, offset)
        presses = await staff
        await quiet(rig, booked)
        devices = {d: dict(s.state) for d, s in rig.sims.devices.items()}
        devices["vip_room_ac"] = rig.ac_unit()
        spoken = Counter(s.id for s in rig.intercom.spoken)
        rig.stop_daemon()
        assert rig.recorder is not None
        messages = rig.recorder.since(0)
    db = checker.Database.read(rig.db_path)
    on_wire = checker.played(messages)
    violations, notes = checker.check_visits(load_scene(), [b.id for b in booked], db,
                                             on_wire, spoken)
    violations += checker.check_faults(faults, config.holds_back_s)
    violations += checker.check_end(devices, EVERYDAY)
    violations += [checker.Violation("press", p.visit, f"{t} never taken")
                   for p in presses for t in p.given_up]
    return summarise(config, booked, faults, presses, db, violations, notes, spoken,
                     wall=time.monotonic() - began, daemon_starts=rig.daemon_starts)


async def inject_all(rig: Rig, plan: list[PlannedFault], booked: list[Booked],
                     offset: float) -> list[FaultRecord]:
    records = []
    for f in plan:
        visit = booked[f.visit]
        at = visit.start.timestamp() - offset + f.offset_s
        await asyncio.sleep(max(0.0, at - time.monotonic()))
        record = await INJECTORS[f.kind](rig, f, visit.id)
        records.append(record)
        took = "–" if record.recovered_s is None else f"{record.recovered_s:.2f} s"
        say(f"visit {f.visit + 1}/{len(booked)}: {f.kind} ({record.target}) "
            f"{'injected' if record.injected else 'NOT injected'}, recovered in {took}")
    return records


async def quiet(rig: Rig, booked: list[Booked]) -> None:
    """Until every visit is over and the intercom has nothing left to say."""
    deadline = time.monotonic() + QUIET_LIMIT_S
    open_ = [b.id for b in booked]
    while time.monotonic() < deadline:
        open_ = [v for v in open_ if not rig.statuses(v) & {"done", "no_show", "cancelled"}]
        if not open_ and len(rig.intercom.queue) == 0 and not rig.intercom.state.get(
                "speaking"):
            return
        await asyncio.sleep(0.1)


def summarise(config: CampaignConfig, booked: list[Booked], faults: list[FaultRecord],
              presses: list[PressLog], db: checker.Database,
              violations: list[checker.Violation], notes: list[str],
              spoken: Counter[str], *, wall: float, daemon_starts: int) -> dict[str, Any]:
    injected = [f for f in faults if f.injected]
    skipped = sum(1 for (_, key), r in db.steps.items() if r == "skipped-late"
                  and not key.startswith(("hold:", "restore", "no-show")))
    result: dict[str, Any] = {
        "name": "campaign",
        "cases": len(booked),
        "failures": len(violations),
        "notes": f"{len(injected)} faults, {len(violations)} violations",
        "config": config.__dict__,
        "wall_s": round(wall, 1),
        "daemon_starts": daemon_starts,
        "faults_by_kind": dict(Counter(f.kind for f in injected)),
        "recovery": report.recovery_by_kind(faults),
        "counts": {
            "done": sum(1 for b in booked if db.status.get(b.id) == "done"),
            "faults": len(injected),
            "broker_kills": sum(1 for f in injected if f.kind == "broker-kill"),
            "kills_in_window": sum(1 for f in injected if f.detail.get("press_lost")),
            "played": sum(spoken.values()),  # by the loudspeaker's own count
            "reported_failed": len(db.failed_announcements()),
            "skipped": skipped,
            "repeated_presses": sum(n - 1 for p in presses for n in p.presses.values()),
        },
        "violations": [v.as_dict() for v in violations],
        "observations": notes,
        "faults": [f.as_dict() for f in faults],
        "presses": [p.__dict__ for p in presses],
    }
    result["table"] = report.campaign_table(result)
    return result
