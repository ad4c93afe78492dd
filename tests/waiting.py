"""Waiting for a condition, never for a duration: the one `eventually` of the test suite.

A test that needs the system to have done something polls for the thing itself (a message on
the wire, a simulator's state, an event in the log) with a deadline, and fails saying what it
waited for and for how long. A fixed sleep "to let things settle" is either too short on a
loaded machine or wasted time on a quiet one.
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

# How long a condition may take before the test fails: generous, since the suite runs on
# several workers of a 2-core machine; a passing test never waits anywhere near this long.
WAIT_S = 10.0
# How often the condition is looked at: fine enough for a 0.1 s difference to show.
POLL_S = 0.01
# A quiet period: long enough that a message or a step that was going to come would have
# (loopback round trips are milliseconds). Only for asserting that nothing happens.
QUIET_S = 0.3


async def eventually(predicate: Callable[[], T], timeout: float = WAIT_S, *,
                     what: str | None = None, poll: float = POLL_S) -> T:
    """Poll `predicate` until it returns something truthy, and return that.

    Fails with an AssertionError naming the condition (`what`, or the predicate's source)
    and the time waited, and the last value the predicate gave."""
    loop = asyncio.get_running_loop()
    began = loop.time()
    while True:
        value = predicate()
        if value:
            return value
        if loop.time() - began >= timeout:
            raise AssertionError(_failure(predicate, timeout, what, value))
        await asyncio.sleep(poll)


async def always(predicate: Callable[[], object], during: float = QUIET_S, *,
                 what: str | None = None, poll: float = POLL_S) -> None:
    """Assert that `predicate` stays true for a quiet period (that nothing happens).

    This is the one place where a test lets time pass on purpose: the behaviour under test is
    that nothing comes, and only waiting shows it. Fails at the first look that is false."""
    loop = asyncio.get_running_loop()
    began = loop.time()
    while True:
        value = predicate()
        if not value:
            raise AssertionError(f"{what or describe(predicate)} stopped holding after "
                                 f"{loop.time() - began:.2f} s of {during:g} s; "
                                 f"the look gave {value!r}")
        if loop.time() - began >= during:
            return
        await asyncio.sleep(poll)


def eventually_sync(predicate: Callable[[], T], timeout: float = WAIT_S, *,
                    what: str | None = None, poll: float = POLL_S) -> T:
    """The same for a test without an event loop (a subprocess's process group, a file)."""
    began = time.monotonic()
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() - began >= timeout:
            raise AssertionError(_failure(predicate, timeout, what, value))
        time.sleep(poll)


def _failure(predicate: Callable[[], object], timeout: float, what: str | None,
             last: object) -> str:
    return (f"waited {timeout:g} s for {what or describe(predicate)}; "
            f"the last look gave {last!r}")


def describe(predicate: Callable[[], object]) -> str:
    """A lambda's own text (`lambda: lights.state.get("power") is True`), else its name."""
    try:
        source = inspect.getsource(predicate).strip()
    except (OSError, TypeError):
        return getattr(predicate, "__qualname__", repr(predicate))
    if getattr(predicate, "__name__", "") != "<lambda>":
        return f"{predicate.__qualname__}()"
    # The lambda's own expression, cut out of the line (or lines) it stands on.
    start = source.find("lambda")
    for end in range(len(source), start, -1):
        try:
            tree = ast.parse(source[start:end], mode="eval")
        except SyntaxError:
            continue
        if isinstance(tree.body, ast.Lambda):
            return ast.unparse(tree.body.body)
    return source
