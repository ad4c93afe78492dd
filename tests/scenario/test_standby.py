"""Hot standby: two `vipctl run` of one site on one PostgreSQL. SIGKILL the active one
mid-visit, twice: the standby takes over within 5 s, puts the held lights back (switched
off meanwhile by hand), says nothing twice, and the visit ends as it should.

Both daemons run as `vipctl run` in their own processes (as on two machines); the
simulators, the broker and PostgreSQL stay up, as the site's would.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest

from controller.auth.credentials import TOKEN_ENV
from controller.config.site import load_site
from controller.daemon import teardown_of
from controller.store.book import VisitBook
from controller.store.database import open_database
from controller.store.requests import VisitRequest
from controller.store.site_lock import LOCK_CLASS
from controller.store.visits import VisitStatus
from scenes.loader import load_scene
from simulators.site import SiteSimulators
from tests.broker import Mosquitto, free_port
from tests.postgres import Postgres
from tests.scenario.rig import SAID_FOR_WANG, site_file
from tests.scenario.test_restart import status
from tests.waiting import eventually

pytestmark = pytest.mark.xdist_group("postgresql")

SPEED = 600.0
VIPCTL = Path(sys.executable).parent / "vipctl"
TOKEN = "standby-test-token-0123456789"
# The bound: from the active daemon's death to the held states back.
TAKEOVER_S = 5.0


class Node:
    """One machine's `vipctl run`: its process, its API port and its log."""

    def __init__(self, name: str, site_path: Path, folder: Path) -> None:
        self.name = name
        self.site_path = site_path
        self.log = folder / f"{name}.log"
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [str(VIPCTL), "run", "--config", str(self.site_path), "--speed", str(SPEED),
                 "--api-port", str(self.port)],
                stdout=out, stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1", TOKEN_ENV: TOKEN})

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def says(self, words: str) -> bool:
        return words in self.text()

    def api(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=f"http://127.0.0.1:{self.port}", timeout=10,
                                 headers={"Authorization": f"Bearer {TOKEN}"})

    def stop(self) -> int | None:
        if self.process is None or self.process.poll() is not None:
            return None if self.process is None else self.process.returncode
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            return None


async def _as_standby(node: Node) -> None:
    await eventually(lambda: node.says("standby for site demo"), timeout=20)
    async with node.api() as api:
        answer = await _get(api, "/health")  # the log line comes before the API listens
        assert answer == {"ok": True, "role": "standby"}
        pressed = await api.post("/triggers/arrival", json={})
        assert pressed.status_code == 503 and pressed.json()["error"] == "standby"
        listed = await api.get("/visits")
        assert listed.status_code == 200 and len(listed.json()["visits"]) == 1


async def _get(api: httpx.AsyncClient, path: str) -> object:
    for _ in range(100):
        try:
            return (await api.get(path)).json()
        except httpx.TransportError:
            await asyncio.sleep(0.1)
    raise AssertionError(f"{path} never answered")


async def test_the_standby_takes_over_twice_and_says_nothing_twice(
    tmp_path: Path, mosquitto: Mosquitto, postgres: Postgres, topic_prefix: str,
) -> None:
    url = postgres.create_database("standby")
    site_path = site_file(tmp_path, mosquitto, topic_prefix, database=url)
    site_path.write_text(site_path.read_text() + "  standby: true\n")
    site = load_site(site_path)
    assert site.database.standby
    scene = load_scene()
    sims = SiteSimulators(site.devices, host=mosquitto.host, port=mosquitto.port,
                          topic_prefix=topic_prefix)
    for device_id in ("model_area_lights", "hall_lights"):
        sims[device_id].state.update({"power": False})
    db = open_database(url, site.site.id)
    book = VisitBook(db, tz=site.site.tz, teardown=teardown_of(scene) / SPEED)
    start = datetime.now(site.site.tz) + timedelta(seconds=8)
    visit = book.book(VisitRequest.model_validate(
        {"surname": "王", "honorific": "先生", "start": start}), "test")
    db.close()

    said = sims["staff_intercom"].spoken_texts  # type: ignore[attr-defined]
    lights = sims["model_area_lights"]
    button = sims["concierge_button"]
    one, two = Node("one", site_path, tmp_path), Node("two", site_path, tmp_path)
    takeovers: list[float] = []

    async def kill_and_take_over(active: Node, standby: Node) -> None:
        active.kill()
        killed = time.monotonic()
        await lights.change_locally({"power": False})  # by hand, while nobody is active
        await eventually(lambda: standby.says("this one takes over"), timeout=TAKEOVER_S)
        await eventually(lambda: lights.state.get("power") is True, timeout=TAKEOVER_S)
        takeovers.append(time.monotonic() - killed)

    async with sims:
        try:
            one.start()
            await eventually(lambda: one.says("active for site demo"), timeout=20)
            two.start()
            await _as_standby(two)

            await eventually(lambda: SAID_FOR_WANG[2] in said(), timeout=20)  # T-10
            await eventually(lambda: lights.state.get("power") is True, timeout=15)  # T-5
            await button.press("single")  # type: ignore[attr-defined]
            await eventually(lambda: SAID_FOR_WANG[3] in said())

            # 1. The active one dies mid-visit: two takes over.
            await kill_and_take_over(one, two)
            one.start()  # back, as the standby now
            await _as_standby(one)
            await button.press("double")  # type: ignore[attr-defined]
            await eventually(lambda: SAID_FOR_WANG[4] in said())

            # 2. And again the other way.
            await kill_and_take_over(two, one)
            await button.press("hold")  # type: ignore[attr-defined]
            await eventually(lambda: SAID_FOR_WANG[5] in said())
            await eventually(lambda: status(site_path, visit.id) is VisitStatus.DONE)
            await eventually(lambda: lights.state.get("power") is False)
            assert sims["hall_lights"].state["power"] is False
            assert one.stop() == 0
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n--- one ---\n{one.text()[-2500:]}\n--- two ---\n"
                                 f"{two.text()[-2500:]}") from exc
        finally:
            one.stop()
            two.stop()
    assert said() == SAID_FOR_WANG, (one.text()[-2000:], two.text()[-2000:])
    assert len(takeovers) == 2 and max(takeovers) < TAKEOVER_S, takeovers
    print(f"take-over times: {', '.join(f'{t:.2f} s' for t in takeovers)}")


async def test_an_active_daemon_that_loses_its_lock_stops_at_once(
    tmp_path: Path, mosquitto: Mosquitto, postgres: Postgres, topic_prefix: str,
) -> None:
    """Its lock's session ended (here by the database's administrator; on a site, a lost
    link): it cannot know whether a standby took over, so it stops driving devices, exit 1."""
    import psycopg

    url = postgres.create_database("lost_lock")
    site_path = site_file(tmp_path, mosquitto, topic_prefix, database=url)
    site_path.write_text(site_path.read_text() + "  standby: true\n")
    node = Node("one", site_path, tmp_path)
    try:
        node.start()
        await eventually(lambda: node.says("active for site demo"), timeout=20)
        with psycopg.connect(host="127.0.0.1", port=postgres.port, user="vipctl",
                             dbname="lost_lock", autocommit=True) as admin:
            # pg_locks is the whole server's, and holds the schema upgrade's lock too
            # while one runs: only the site lock, of this database.
            ended = admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' "
                "AND classid = %s AND objsubid = 2 "
                "AND database = (SELECT oid FROM pg_database WHERE datname = 'lost_lock')",
                (LOCK_CLASS,)).fetchall()
        assert ended == [(True,)]
        assert node.process is not None
        await eventually(lambda: node.process.poll() is not None, timeout=20)  # type: ignore[union-attr]
        assert node.process.returncode == 1
        assert node.says("the site lock is lost; stopping")
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n--- log ---\n{node.text()[-2500:]}") from exc
    finally:
        node.stop()
