"""`vipctl hq` as a process: stopped, the sites keep publishing, started again; nothing is
lost (its broker session queued it) and nothing is stored twice; retained summaries are
back; what it knew is still there."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from controller.hq.config import load_hq
from controller.hq.store import HqStore
from tests.api.harness import ADMIN
from tests.broker import Mosquitto, free_port
from tests.hq.harness import hq_file, new_database
from tests.hq_site import sites
from tests.postgres import Postgres
from tests.waiting import eventually, eventually_sync

pytestmark = pytest.mark.xdist_group("postgresql")
VIPCTL = Path(sys.executable).parent / "vipctl"


def start(path: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen([str(VIPCTL), "hq", "--config", str(path), "--api-port",
                                 str(port)], stdout=out, stderr=subprocess.STDOUT,
                                env={**os.environ, "PYTHONUNBUFFERED": "1"})


def healthy(port: int) -> bool:
    try:
        body = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).json()
    except httpx.HTTPError:
        return False
    return bool(body.get("connected"))


async def test_restart_keeps_state_and_misses_nothing(
        tmp_path: Path, mosquitto: Mosquitto, postgres: Postgres, topic_prefix: str) -> None:
    path = hq_file(tmp_path, mosquitto, new_database(postgres), topic_prefix)
    store = HqStore(load_hq(path).database.url)
    port, log = free_port(), tmp_path / "hq.log"
    process = start(path, port, log)
    try:
        async with sites(mosquitto.host, mosquitto.port, ["binjiang", "xihu"],
                         prefix=topic_prefix) as (one, two):
            await eventually(lambda: healthy(port), what="vipctl hq up")
            before = [one.event("cue") for _ in range(5)]
            for m in before:
                await one.send_event(m)
            await one.send_summary()
            await two.send_link(True)
            await eventually(lambda: store.count_events() == 5)
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=15) == 0
            # While head office is down: its broker session queues these.
            during = [two.event("cue") for _ in range(7)]
            for m in during:
                await two.send_event(m)
            await one.send_event(before[0])  # and a replay of one it has
            process = start(path, port, log)
            await eventually(lambda: healthy(port), what="vipctl hq up again")
            await eventually(lambda: store.count_events("xihu") == 7)
            assert store.count_events() == 12
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}",
                                         headers=ADMIN) as client:
                now = {s["site"]: s for s in (await client.get("/sites")).json()}
            assert now["binjiang"]["summary_at"] is not None
            assert now["xihu"]["link_up"] is True
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            eventually_sync(lambda: process.poll() is not None, what="vipctl hq stopped")
        store.close()
    assert "Traceback" not in log.read_text(), log.read_text()[-3000:]
