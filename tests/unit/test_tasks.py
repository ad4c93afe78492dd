"""common.tasks: background tasks that are never lost and always stop."""

from __future__ import annotations

import asyncio
import logging

import pytest

from common.tasks import TaskSet, cancel_and_wait


async def test_a_crash_is_logged_with_its_traceback_and_reported(
    caplog: pytest.LogCaptureFixture,
) -> None:
    crashed: list[tuple[str, BaseException]] = []
    tasks = TaskSet("owner", on_crash=lambda task, exc: crashed.append((task.get_name(), exc)))

    async def fail() -> None:
        raise RuntimeError("boom")

    with caplog.at_level(logging.ERROR, logger="common.tasks"):
        task = tasks.spawn(fail(), "job")
        await asyncio.wait([task])
        await asyncio.sleep(0)  # the done callback runs on the next turn of the loop
    assert [(name, str(exc)) for name, exc in crashed] == [("owner:job", "boom")]
    record = next(r for r in caplog.records if "owner:job" in r.getMessage())
    assert record.exc_info is not None and record.exc_info[0] is RuntimeError
    assert len(tasks) == 0  # not referenced once ended


async def test_a_cancelled_or_finished_task_is_not_a_crash() -> None:
    crashed: list[BaseException] = []
    tasks = TaskSet("owner", on_crash=lambda task, exc: crashed.append(exc))
    done = tasks.spawn(asyncio.sleep(0), "quick")
    waiting = tasks.spawn(asyncio.sleep(60), "slow")
    await asyncio.wait([done])
    assert len(tasks) == 1 and list(tasks) == [waiting]
    await tasks.stop()
    assert waiting.cancelled() and crashed == []


async def test_stop_cancels_the_newest_first() -> None:
    order: list[str] = []
    tasks = TaskSet("owner")

    async def wait_then_note(name: str) -> None:
        try:
            await asyncio.sleep(60)
        finally:
            order.append(name)

    for name in ("connection", "subscribe", "reply"):
        tasks.spawn(wait_then_note(name), name)
    await asyncio.sleep(0)
    await tasks.stop()
    assert order == ["reply", "subscribe", "connection"]
    assert len(tasks) == 0


async def test_a_task_that_will_not_stop_is_given_up_on_within_the_bound(
    caplog: pytest.LogCaptureFixture,
) -> None:
    release = asyncio.Event()

    async def stubborn() -> None:
        while not release.is_set():
            try:
                await asyncio.sleep(60)
            except asyncio.CancelledError:
                continue  # swallows every cancel, as a bug (or gh-86296) would

    task = asyncio.get_running_loop().create_task(stubborn(), name="stubborn")
    await asyncio.sleep(0)
    loop = asyncio.get_running_loop()
    began = loop.time()
    with caplog.at_level(logging.WARNING, logger="common.tasks"):
        stuck = await cancel_and_wait(task, timeout=0.3)
    assert stuck == [task]
    assert 0.25 <= loop.time() - began < 2.0
    assert "did not stop within 0.3 s: stubborn" in caplog.text
    release.set()
    task.cancel()
    await asyncio.wait([task])


async def test_tasks_spawned_while_stopping_are_stopped_too() -> None:
    tasks = TaskSet("owner")
    late: list[asyncio.Task[None]] = []

    async def spawns_on_the_way_out() -> None:
        try:
            await asyncio.sleep(60)
        finally:
            late.append(tasks.spawn(asyncio.sleep(60), "late"))

    tasks.spawn(spawns_on_the_way_out(), "first")
    await asyncio.sleep(0)
    await tasks.stop()
    assert len(late) == 1 and late[0].cancelled()
    assert len(tasks) == 0
