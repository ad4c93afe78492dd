"""SIGKILL mid-visit and start again: same device states, same announcements, none twice.

The daemon runs as `vipctl run` in its own process; the simulators and the broker stay up,
as the real devices would. Presses go through the simulated Zigbee button over MQTT.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

from controller.config.site import load_site
from controller.daemon import teardown_of
from controller.store.book import VisitBook
from controller.store.database import open_database
from controller.store.requests import VisitRequest
from controller.store.visits import VisitStatus
from scenes.loader import load_scene
from simulators.site import SiteSimulators
from tests.broker import Mosquitto, free_port
from tests.scenario.rig import SAID_FOR_WANG, site_file
from tests.waiting import eventually

SPEED = 600.0
VIPCTL = Path(sys.executable).parent / "vipctl"
EXPECTED = SAID_FOR_WANG


def spawn(site_path: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:  # the daemon has its own copy of the file descriptor
        return subprocess.Popen(
            [str(VIPCTL), "run", "--config", str(site_path), "--speed", str(SPEED),
             "--api-port", str(free_port())],
            stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )


def status(site_path: Path, visit_id: str) -> VisitStatus:
    site = load_site(site_path)
    db = open_database(site.database.url, site.site.id)
    try:
        return VisitBook(db, tz=site.site.tz, teardown=timedelta(0)).get(visit_id).status
    finally:
        db.close()


async def test_sigkill_mid_visit_then_restart(
    tmp_path: Path, mosquitto: Mosquitto, topic_prefix: str
) -> None:
    site_path = site_file(tmp_path, mosquitto, topic_prefix)
    site = load_site(site_path)
    scene = load_scene()
    log = tmp_path / "daemon.log"
    initial = {"model_area_lights": {"power": False}, "hall_lights": {"power": False}}
    sims = SiteSimulators(site.devices, host=mosquitto.host, port=mosquitto.port,
                          topic_prefix=topic_prefix)
    for device_id, state in initial.items():
        sims[device_id].state.update(state)
    # Booked while no daemon runs: the database is the truth the daemon starts from.
    db = open_database(site.database.url, site.site.id)
    book = VisitBook(db, tz=site.site.tz, teardown=teardown_of(scene) / SPEED)
    start = datetime.now(site.site.tz) + timedelta(seconds=7)
    visit = book.book(VisitRequest.model_validate(
        {"surname": "王", "honorific": "先生", "start": start}), "test")
    db.close()

    intercom = sims["staff_intercom"]
    lights = sims["model_area_lights"]
    button = sims["concierge_button"]
    said = intercom.spoken_texts  # type: ignore[attr-defined]
    async with sims:
        daemon = spawn(site_path, log)
        try:
            # 1. Killed right after the T-10 reminder, before the T-5 lights.
            await eventually(lambda: EXPECTED[2] in said(), timeout=15)
            daemon.send_signal(signal.SIGKILL)
            daemon.wait()
            # T-5 passes while vipctl is down. Not a settle: time passing with no daemon is
            # what the test is about.
            down = start - timedelta(seconds=0.2) - datetime.now(site.site.tz)
            await asyncio.sleep(max(0.0, down.total_seconds()))

            # 2. Back: the overdue lights run late (still useful), nothing is said again.
            daemon = spawn(site_path, log)
            await eventually(lambda: lights.state.get("power") is True, timeout=15)
            await eventually(lambda: sims["hall_lights"].state.get("power") is True)
            await button.press("single")  # type: ignore[attr-defined]
            await eventually(lambda: EXPECTED[3] in said())

            # 3. Killed mid-visit; meanwhile someone switches the held lights off.
            daemon.send_signal(signal.SIGKILL)
            daemon.wait()
            await lights.change_locally({"power": False})
            daemon = spawn(site_path, log)
            await eventually(lambda: lights.state.get("power") is True, timeout=15)

            # 4. The rest of the visit, and the restore.
            await button.press("double")  # type: ignore[attr-defined]
            await eventually(lambda: EXPECTED[4] in said())
            await button.press("hold")  # type: ignore[attr-defined]
            await eventually(lambda: EXPECTED[5] in said())
            await eventually(lambda: status(site_path, visit.id) is VisitStatus.DONE)
            await eventually(lambda: lights.state.get("power") is False)
            assert sims["hall_lights"].state["power"] is False
            assert sims["background_music"].state["playback"] == "playing"

            daemon.send_signal(signal.SIGTERM)
            assert daemon.wait(timeout=15) == 0
        except AssertionError as exc:  # what the daemon did is the first thing to read
            raise AssertionError(f"{exc}\n--- the daemon's log, its end ---\n"
                                 f"{log.read_text()[-3000:]}") from exc
        finally:
            if daemon.poll() is None:
                daemon.kill()
                daemon.wait()
    assert said() == EXPECTED, log.read_text()[-3000:]
