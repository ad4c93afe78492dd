"""A backup taken mid-visit from a running daemon, restored on a fresh site folder: the new
daemon carries on the visit where the backup left it.

The box of site A dies (SIGKILL) after the guest's arrival; its backup is restored into a
new folder B with `vipctl restore` and `vipctl run` started there, against the same devices
(the simulators and the broker stay up). Nothing said before the backup is said again, the
held lights switched off meanwhile come back on, and the rest of the visit runs.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
from datetime import datetime, timedelta
from pathlib import Path

from controller.config.site import load_site
from controller.daemon import teardown_of
from controller.store.book import VisitBook
from controller.store.database import open_database
from controller.store.requests import VisitRequest
from controller.store.schema import head
from controller.store.visits import VisitStatus
from scenes.loader import load_scene
from simulators.site import SiteSimulators
from tests.broker import Mosquitto
from tests.scenario.rig import SAID_FOR_WANG, site_file
from tests.scenario.test_restart import SPEED, VIPCTL, spawn, status
from tests.waiting import eventually


def vipctl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(VIPCTL), *args], capture_output=True, text=True, timeout=60,
                          check=False)


async def test_backup_mid_visit_restored_into_a_fresh_site_carries_on(
    tmp_path: Path, mosquitto: Mosquitto, topic_prefix: str
) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    site_a = site_file(tmp_path / "a", mosquitto, topic_prefix)
    site_b = site_file(tmp_path / "b", mosquitto, topic_prefix)
    site = load_site(site_a)
    scene = load_scene()
    log = tmp_path / "daemon.log"
    sims = SiteSimulators(site.devices, host=mosquitto.host, port=mosquitto.port,
                          topic_prefix=topic_prefix)
    db = open_database(site.database.url, site.site.id)
    start = datetime.now(site.site.tz) + timedelta(seconds=6)
    visit = VisitBook(db, tz=site.site.tz, teardown=teardown_of(scene) / SPEED).book(
        VisitRequest.model_validate({"surname": "王", "honorific": "先生", "start": start}),
        "test")
    db.close()
    backup = tmp_path / "backup.db"

    intercom = sims["staff_intercom"]
    lights = sims["model_area_lights"]
    button = sims["concierge_button"]
    said = intercom.spoken_texts  # type: ignore[attr-defined]
    async with sims:
        daemon = spawn(site_a, log)
        try:
            # 1. Mid-visit on A: the reminders said, the guest arrived (and it is committed).
            await eventually(lambda: SAID_FOR_WANG[2] in said(), timeout=15)
            await button.press("single")  # type: ignore[attr-defined]
            await eventually(lambda: SAID_FOR_WANG[3] in said())
            await eventually(lambda: status(site_a, visit.id) is VisitStatus.ARRIVED)

            made = vipctl("backup", str(backup), "--config", str(site_a))
            assert made.returncode == 0, made.stderr
            assert made.stdout.endswith(
                f": schema revision {head()}, site 'demo' (1 visit)\n")
            with sqlite3.connect(backup) as conn:
                assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)

            # A restore is refused while A's daemon runs, and leaves A's database alone.
            refused = vipctl("restore", str(backup), "--config", str(site_a))
            assert refused.returncode == 1
            assert "a vipctl daemon is running on" in refused.stderr
            assert refused.stderr.endswith("nothing was changed\n")
            assert not list((tmp_path / "a").glob("vipctl.db.*-restore-*"))

            # 2. A's box dies; meanwhile someone switches the held lights off.
            daemon.send_signal(signal.SIGKILL)
            daemon.wait()
            await lights.change_locally({"power": False})

            # 3. B, a fresh folder, from the backup.
            restored = vipctl("restore", str(backup), "--config", str(site_b))
            assert restored.returncode == 0, restored.stderr
            assert restored.stdout.startswith(
                f"restored {backup} into {tmp_path / 'b' / 'vipctl.db'}: schema revision "
                f"{head()}, site 'demo' (1 visit)\n")
            daemon = spawn(site_b, log)
            await eventually(lambda: lights.state.get("power") is True, timeout=15)

            # 4. The rest of the visit, on B.
            await button.press("double")  # type: ignore[attr-defined]
            await eventually(lambda: SAID_FOR_WANG[4] in said())
            await button.press("hold")  # type: ignore[attr-defined]
            await eventually(lambda: SAID_FOR_WANG[5] in said())
            await eventually(lambda: status(site_b, visit.id) is VisitStatus.DONE)
            await eventually(lambda: lights.state.get("power") is False)

            daemon.send_signal(signal.SIGTERM)
            assert daemon.wait(timeout=15) == 0
        except AssertionError as exc:  # what the daemons did is the first thing to read
            raise AssertionError(f"{exc}\n--- the daemons' log, its end ---\n"
                                 f"{log.read_text()[-3000:]}") from exc
        finally:
            if daemon.poll() is None:
                daemon.kill()
                daemon.wait()
    assert said() == SAID_FOR_WANG, log.read_text()[-3000:]
