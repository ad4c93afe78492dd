"""The event log over a real SQLite file: append, query, paging, filters, the live feed."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from enum import Enum

import pytest

from controller.store.database import Database, open_database
from controller.store.events import REDACTED, Event, EventLog, Subscription

T0 = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)  # every event one second after the last
        return self.now


@pytest.fixture
def log(db: Database) -> EventLog:
    return EventLog(db, clock=Clock())


class Colour(Enum):
    RED = "red"


def test_append_and_read_back_unchanged(log: EventLog, url: str) -> None:
    detail = {
        "text": "王'/+#😀先生已到访,请各岗位做好接待工作\nline two",
        "when": datetime(2026, 11, 20, 14, 0, tzinfo=UTC),
        "after": timedelta(minutes=5),
        "colour": Colour.RED,
        "nested": {"list": [1, 2.5, None, True]},
    }
    event = log.append(
        "announcement",
        visit_id="v-abc123",
        source="api",
        device_id="intercom",
        detail=detail,
        result="ok",
    )
    assert event.at == T0 + timedelta(seconds=1)
    assert event.detail == {
        "text": detail["text"],
        "when": "2026-11-20T14:00:00+00:00",
        "after": 300.0,
        "colour": "red",
        "nested": {"list": [1, 2.5, None, True]},
    }
    # Another process reading the same file sees exactly what append returned.
    other = open_database(url)
    try:
        assert EventLog(other).query() == [event]
    finally:
        other.close()


def test_bad_appends_refused(log: EventLog) -> None:
    with pytest.raises(ValueError, match="unknown event kind"):
        log.append("confirm")
    with pytest.raises(TypeError, match="not JSON"):
        log.append("cue", detail={"callback": object()})
    with pytest.raises(ValueError, match="naive"):
        log.append("cue", at=datetime(2026, 11, 20, 9, 0))
    assert log.query() == []


def test_secret_looking_keys_are_redacted(log: EventLog) -> None:
    event = log.append(
        "alert", detail={"broker": {"user": "site", "Password": "hunter2"}, "api_token": "x"}
    )
    assert event.detail == {"broker": {"user": "site", "Password": REDACTED}, "api_token": REDACTED}
    assert "hunter2" not in repr(log.query())


def test_paging_newest_first(log: EventLog) -> None:
    ids = [log.append("command", detail={"n": n}).id for n in range(25)]
    pages: list[list[int]] = []
    before: int | None = None
    while page := log.query(limit=10, before_id=before):
        pages.append([e.id for e in page])
        before = page[-1].id
    assert pages == [ids[:14:-1], ids[14:4:-1], ids[4::-1]]
    with pytest.raises(ValueError, match="limit"):
        log.query(limit=0)


def test_filters(log: EventLog) -> None:
    a = log.append("trigger", visit_id="v-aaaaaa", source="button")
    b = log.append("command", visit_id="v-aaaaaa", device_id="model_area")
    c = log.append("confirmed", visit_id="v-bbbbbb", device_id="model_area")
    d = log.append("garbage", device_id="hall_ac")
    assert log.query(visit_id="v-aaaaaa") == [b, a]
    assert log.query(kinds=["command", "confirmed"]) == [c, b]
    assert log.query(device_id="model_area", visit_id="v-bbbbbb") == [c]
    assert log.query(since=b.at, until=d.at) == [c, b]
    assert log.query(kinds=[]) == []


async def test_live_subscription(log: EventLog) -> None:
    log.append("visit", detail={"before": "subscribing"})
    async with log.subscribe() as feed:
        sent = [log.append("cue", detail={"n": n}) for n in range(3)]
        received = [await asyncio.wait_for(anext(feed), 1) for _ in range(3)]
        assert received == sent
        # An append from a worker thread reaches the loop's subscriber too.
        threaded = await asyncio.to_thread(log.append, "command", device_id="model_area")
        assert await asyncio.wait_for(anext(feed), 1) == threaded
    log.append("cue")
    with pytest.raises(TimeoutError):  # closed: nothing more reaches it
        await asyncio.wait_for(anext(feed), 0.05)


async def test_slow_subscriber_loses_oldest_and_counts(log: EventLog) -> None:
    slow = log.subscribe(maxsize=3)
    fast = log.subscribe()
    sent = [log.append("command", detail={"n": n}) for n in range(5)]
    assert slow.dropped == 2
    assert [await anext(slow) for _ in range(3)] == sent[2:]
    assert [await anext(fast) for _ in range(5)] == sent
    assert fast.dropped == 0
    slow.close()
    fast.close()


async def test_async_for_reads_in_order(log: EventLog) -> None:
    async def collect(feed: Subscription, count: int) -> list[Event]:
        got: list[Event] = []
        async for event in feed:
            got.append(event)
            if len(got) == count:
                break
        return got

    reader = asyncio.create_task(collect(log.subscribe(), 2))  # subscribed before the appends
    sent = [log.append("retry"), log.append("failed")]
    assert await asyncio.wait_for(reader, 1) == sent
