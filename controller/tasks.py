"""Stopping background tasks within a bound, whatever they do."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

log = logging.getLogger(__name__)


async def cancel_all(tasks: Iterable[asyncio.Task[Any]], timeout: float = 5.0) -> None:
    """Cancel the tasks and wait for them, re-cancelling, for at most `timeout` seconds.

    Python 3.11's wait_for can swallow a cancellation that arrives with its result
    (CPython gh-86296), so one cancel() is not always enough; and a shutdown must end.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    pending = {task for task in tasks if not task.done()}
    while pending and loop.time() < deadline:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=0.1)
    if pending:
        log.warning("%d task(s) did not stop within %g s: %s", len(pending), timeout,
                    ", ".join(task.get_name() for task in pending))
