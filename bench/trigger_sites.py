"""The sites, scenes and bookings of the trigger rows, one per variant of the press path.

- plain: the concierge button and the staff intercom (both simulated: the button only says
  it is online, the bench presses it); the shipped scene's F1/F7/F13 only;
  visits already preparing. The shortest path from a press to its announcement.
- duck: the same, and the background music, which the intercom's `duck:` turns down while
  it speaks (as docs/configuration.md recommends); the scene keeps its music baseline.
- early: the demo site (a device of every kind) and the whole shipped scene; the visits are
  booked (not yet preparing), their start 50 minutes ahead: the arrival press runs the
  preparation (air conditioning, lights, video) with the welcome, as for a guest who comes
  before the preparation has begun.

All the visits a run needs are in the database before the daemon starts, a tenth of a
second apart and all within the arrival window, so each arrival press goes to the next of
several hundred waiting visits (more than any site has; P1 is not checked on this direct
insert). An announcement's id names its visit and cue, which pairs it with its press.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bench import sitegen
from bench.visits import Planned, insert_visits, visit_id
from controller.store.database import open_database
from controller.store.visits import VisitStatus
from tests.broker import Mosquitto

VARIANTS = ("plain", "duck", "early")
# Visit k starts this far ahead plus k × VISIT_STEP, within the arrival press's 2-hour window:
# the nearest waiting visit is always the next one.
BOOKED_AHEAD = timedelta(minutes=10)
VISIT_STEP = timedelta(milliseconds=100)
VISIT_DURATION = timedelta(minutes=30)
# Early guests: past the preparation's lead (45 min: nothing has run yet), within the hour in
# which one press is taken as the arrival without a confirmation (engine.ARRIVAL_CONFIRM_AHEAD).
EARLY_AHEAD = timedelta(minutes=50)
# While the intercom speaks, the music goes down to this volume.
DUCK_VOLUME = 10
MUSIC = "background_music"


@dataclass(frozen=True)
class Variant:
    site: Path
    scene: Path | None  # None: the shipped scene
    simulated: str  # the device ids bench.sims plays ("" for all of the site's)


def prepare(variant: str, broker: Mosquitto, work: Path, name: str, visits: int) -> Variant:
    """The site file, scene file and database (with `visits` visits) of one trigger run."""
    database = work / f"{name}.db"
    scene_path = work / f"trigger-{variant}-scene.yaml"
    if variant == "early":
        devices, groups = sitegen.demo()
        site = _site(broker, work, name, database, devices, groups)
        _book(database, visits, EARLY_AHEAD, VisitStatus.BOOKED)
        return Variant(site, None, "")
    if variant == "duck":
        intercom = {**sitegen.INTERCOM, "duck": {MUSIC: DUCK_VOLUME}}
        devices = {"concierge_button": sitegen.BUTTON, "staff_intercom": intercom,
                   MUSIC: sitegen.demo()[0][MUSIC]}
        site = _site(broker, work, name, database, devices, {})
        sitegen.trigger_scene(scene_path, baseline=True)
        simulated = f"concierge_button,staff_intercom,{MUSIC}"
        _book(database, visits, BOOKED_AHEAD, VisitStatus.PREPARING)
    else:
        devices = {"concierge_button": sitegen.BUTTON, "staff_intercom": sitegen.INTERCOM}
        site = _site(broker, work, name, database, devices, {})
        sitegen.trigger_scene(scene_path)
        simulated = "concierge_button,staff_intercom"
        _book(database, visits, BOOKED_AHEAD, VisitStatus.PREPARING)
    return Variant(site, scene_path, simulated)


def _site(broker: Mosquitto, work: Path, name: str, database: Path, devices: dict[str, Any],
          groups: dict[str, list[str]]) -> Path:
    return sitegen.write_site(work / f"{name}.yaml", broker_url=broker.url, database=database,
                              devices=devices, groups=groups)


def _book(database: Path, visits: int, ahead: timedelta, status: VisitStatus) -> None:
    """The run's visits, straight into its database (bench.visits)."""
    base = datetime.now().astimezone() + ahead
    db = open_database(f"sqlite:///{database}")
    try:
        insert_visits(db, [Planned(visit_id(k), f"B{k:05d}", base + k * VISIT_STEP,
                                   VISIT_DURATION, status) for k in range(visits)])
    finally:
        db.close()
