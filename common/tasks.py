"""Background tasks that are never lost and always stop.

Every long-lived object of vipctl that starts tasks (a connection's loop, a device's state
query, the engine's steps, a simulator's replies) owns a `TaskSet`: each task is named,
kept by a strong reference until it ends (asyncio itself keeps only a weak one, so an
unreferenced task can vanish mid-flight), and a task that dies of an exception is logged
with its traceback instead of disappearing silently. `stop()` cancels them in the reverse
order they were started, within one bounded wait: a shutdown always ends.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Iterable, Iterator
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

# How long a shutdown waits for the tasks it cancels (seconds) before it gives up on them.
STOP_TIMEOUT_S = 5.0
# Python 3.11's wait_for can swallow a cancellation that arrives together with its result
# (CPython gh-86296, fixed in 3.12): a task still running this long after cancel() is
# cancelled again.
_RECANCEL_S = 0.1

CrashHandler = Callable[[asyncio.Task[Any], BaseException], None]


async def cancel_and_wait(
    tasks: asyncio.Task[Any] | Iterable[asyncio.Task[Any]], timeout: float = STOP_TIMEOUT_S,
) -> list[asyncio.Task[Any]]:
    """Cancel `tasks`, the last one first, and wait for each to end, re-cancelling, for
    at most `timeout` seconds in all. Returns the tasks that did not end (logged)."""
    todo = [tasks] if isinstance(tasks, asyncio.Task) else list(tasks)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    stuck: list[asyncio.Task[Any]] = []
    for task in reversed(todo):
        while not task.done() and loop.time() < deadline:
            task.cancel()
            await asyncio.wait([task], timeout=min(_RECANCEL_S, deadline - loop.time()))
        if not task.done():
            stuck.append(task)
    if stuck:
        log.warning("%d task(s) did not stop within %g s: %s", len(stuck), timeout,
                    ", ".join(task.get_name() for task in stuck))
    return stuck


class TaskSet:
    """The background tasks of one owner. `spawn()` them; `await stop()` at the end."""

    def __init__(self, owner: str, *, on_crash: CrashHandler | None = None,
                 logger: logging.Logger | None = None) -> None:
        """`owner` prefixes every task's name. `on_crash` is told of a task that died of
        an exception (after it is logged); `logger`: the owner's, so the traceback says
        whose task it was."""
        self.owner = owner
        self._on_crash = on_crash
        self._log = logger or log
        self._tasks: dict[asyncio.Task[Any], None] = {}  # insertion-ordered

    def spawn(self, coro: Coroutine[Any, Any, T], name: str) -> asyncio.Task[T]:
        """Run `coro` as a task named `<owner>:<name>`, referenced until it ends."""
        task = asyncio.get_running_loop().create_task(coro, name=f"{self.owner}:{name}")
        self._tasks[task] = None
        task.add_done_callback(self._ended)
        return task

    def _ended(self, task: asyncio.Task[Any]) -> None:
        self._tasks.pop(task, None)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is None:
            return
        self._log.error("task %s failed", task.get_name(), exc_info=exc)
        if self._on_crash is not None:
            self._on_crash(task, exc)

    def __len__(self) -> int:
        return len(self._tasks)

    def __iter__(self) -> Iterator[asyncio.Task[Any]]:
        return iter(list(self._tasks))

    async def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """Cancel every task, the newest first, and wait for them (bounded). Idempotent;
        tasks spawned meanwhile are stopped too."""
        while self._tasks:
            stuck = await cancel_and_wait(list(self._tasks), timeout)
            for task in [*stuck, *(t for t in self._tasks if t.done())]:
                self._tasks.pop(task, None)  # ended, or given up on: not waited for again
