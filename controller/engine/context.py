"""What the engine is doing now, for whoever writes the event log.

The device layer knows nothing of visits or steps; its events (command, confirmed, failed…)
are logged by the claims writer and the announcer, which add the scene step the command was
sent for (`in_step`, a context variable, so that steps running side by side each keep their
own) and the visit under way (`CurrentVisit`, set by the engine alone).
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager

_step: contextvars.ContextVar[str | None] = contextvars.ContextVar("vipctl_step", default=None)


def current_step() -> str | None:
    """The scene step (cue id, "hold", "restore", "duck"…) this code runs for, if any."""
    return _step.get()


@contextmanager
def in_step(step: str) -> Iterator[None]:
    """Device events emitted inside belong to `step`."""
    token = _step.set(step)
    try:
        yield
    finally:
        _step.reset(token)


class CurrentVisit:
    """The id of the visit under way (None between visits). The engine sets it; the claims
    writer, the announcer and the media watch read it to file their events."""

    __slots__ = ("id",)

    def __init__(self) -> None:
        self.id: str | None = None
