"""Ingest against a real Mosquitto and PostgreSQL, the sites played by tests/hq_site.py."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiomqtt
import pytest

from controller.hq.tables import hq_events
from controller.link import wire
from devices.model import prefixed
from tests.broker import Mosquitto
from tests.hq.harness import hq_file, new_database, running_hq
from tests.hq_site import SimSite, sites, snapshot
from tests.postgres import Postgres
from tests.waiting import eventually

pytestmark = pytest.mark.xdist_group("postgresql")


async def test_each_event_is_stored_once_though_published_twice(
        tmp_path: Path, mosquitto: Mosquitto, postgres: Postgres, topic_prefix: str) -> None:
    path = hq_file(tmp_path, mosquitto, new_database(postgres), topic_prefix)
    async with running_hq(path) as running, \
            sites(mosquitto.host, mosquitto.port, ["binjiang", "xihu"],
                  prefix=topic_prefix) as (one, two):
        visit = snapshot("王", datetime.now(UTC) + timedelta(hours=1))
        sent = [one.event("visit", visit=visit), *(one.event("cue") for _ in range(20)),
                *(two.event("cue") for _ in range(10))]
        for _ in range(2):  # a bridge's replay: the same ids again
            for message in sent:
                await (one if message.site == "binjiang" else two).send_event(message)
        store = running.hq.store
        await eventually(lambda: running.hq.ingest.stats.committed == 2 * len(sent))
        assert store.count_events("binjiang") == 21
        assert store.count_events("xihu") == 10
        with store.engine.connect() as conn:
            ids = {row.id for row in conn.execute(hq_events.select())}
        assert ids == {m.id for m in sent}
        found = (await running.client.get("/visits", params={"q": "王"})).json()["visits"]
        assert [(v["site"], v["visit_id"], v["salutation"]) for v in found] == [
            ("binjiang", visit.id, "王先生")]


async def test_summaries_and_link_show_per_site(
        tmp_path: Path, mosquitto: Mosquitto, postgres: Postgres, topic_prefix: str) -> None:
    path = hq_file(tmp_path, mosquitto, new_database(postgres), topic_prefix)
    async with running_hq(path) as running, \
            sites(mosquitto.host, mosquitto.port, ["binjiang", "xihu"],
                  prefix=topic_prefix) as (one, two):
        now = datetime.now(UTC)
        one.visits = [snapshot("王", now - timedelta(minutes=10)),
                      snapshot("李", now + timedelta(hours=2), honorific="女士")]
        one.trouble = [wire.DeviceProblem(device_id="hall_ac", problem="unavailable")]
        await one.send_summary()
        await one.send_link(True)
        # xihu's last summary is five minutes old: not heard from for 5 min.
        await two.send_summary(at=now - timedelta(minutes=5))
        await two.send_link(False)

        await eventually(lambda: sum(1 for r in running.hq.store.sites()
                                     if r["summary_at"] and r["link_up"] is not None) == 2)
        got = await running.sites()
        b, x = got["binjiang"], got["xihu"]
        assert b["name"] == "滨江壹号" and b["link_up"] is True and b["stale"] is False
        assert b["current"]["salutation"] == "王先生"  # type: ignore[index]
        assert [v["salutation"] for v in b["next"]] == ["李女士"]  # type: ignore[attr-defined]
        assert b["devices_in_trouble"][0]["device_id"] == "hall_ac"  # type: ignore[index]
        assert x["link_up"] is False and x["stale"] is True and x["silent_minutes"] == 5
        assert x["current"] is None


GARBAGE = [
    ("vipctl/binjiang/events", b"not json"),
    ("vipctl/binjiang/events", b"{" + b"x" * 60_000),
    ("vipctl/binjiang/events", b'{"id": "xihu:1", "site": "xihu", "seq": 1, "at": '
                               b'"2026-12-01T10:00:00+08:00", "kind": "cue"}'),  # another site
    ("vipctl/binjiang/events", b'{"id": "binjiang:9", "site": "binjiang", "seq": 1, "at": '
                               b'"2026-12-01T10:00:00+08:00", "kind": "cue"}'),  # id != seq
    ("vipctl/binjiang/summary", b'{"site": "binjiang"}'),
    ("vipctl/binjiang/summary", "\u00ff\u00fe".encode("latin-1")),
    ("vipctl/binjiang/link", b"maybe"),
    ("vipctl/binjiang/bookings/reply", b"[1, 2, 3]"),
    ("vipctl/BAD SITE/events", b"{}"),
    ("vipctl/binjiang/summary", b""),
]


async def test_garbage_on_every_topic_is_ignored_and_the_ingest_lives_on(
        tmp_path: Path, mosquitto: Mosquitto, postgres: Postgres, topic_prefix: str,
        caplog: pytest.LogCaptureFixture) -> None:
    path = hq_file(tmp_path, mosquitto, new_database(postgres), topic_prefix)
    caplog.set_level(logging.WARNING, logger="controller.hq")
    async with running_hq(path) as running, \
            SimSite(mosquitto.host, mosquitto.port, "binjiang", prefix=topic_prefix) as site:
        async with aiomqtt.Client(mosquitto.host, mosquitto.port) as raw:
            for topic, payload in GARBAGE:
                await raw.publish(prefixed(topic_prefix, topic), payload, qos=1)
        await site.send_event(good := site.event("cue"))
        await eventually(lambda: running.hq.store.count_events() == 1)
        ingest = running.hq.ingest
        assert ingest.stats.refused == len(GARBAGE)
        assert running.hq.store.count_events() == 1 and good.id.startswith("binjiang:")
        refused = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
        assert len(refused) == len(GARBAGE)
        assert max(len(line) for line in refused) < 1000  # bounded: no 60 kB lines
        assert any("the payload says site 'xihu'" in line for line in refused)
        assert (await running.client.get("/health")).json() == {"ok": True, "connected": True}


async def test_an_sqlite_file_serves_for_a_trial(
        tmp_path: Path, mosquitto: Mosquitto, topic_prefix: str) -> None:
    path = hq_file(tmp_path, mosquitto, f"sqlite:///{tmp_path / 'hq.db'}", topic_prefix)
    async with running_hq(path) as running, \
            SimSite(mosquitto.host, mosquitto.port, "binjiang", prefix=topic_prefix) as site:
        sent = [site.event("cue") for _ in range(5)]
        for message in [*sent, *sent]:
            await site.send_event(message)
        await site.send_summary()
        await eventually(lambda: running.hq.ingest.stats.committed == 11)
        assert running.hq.store.count_events() == 5
        assert (await running.sites())["binjiang"]["summary_at"] is not None
