"""One press, one action: a trigger pressed again while it runs, or just after, is ignored.

A guard's Zigbee button and a concierge's phone can press "arrival" within the same second,
and a nervous thumb presses twice. The step already done is refused by the engine ("already
done at 15:02:11"); this gate covers the moment before that is true: while the first press
is still running its cues, and a short window after it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

# Wall-clock seconds after a press ends during which the same trigger is ignored: longer
# than a double tap or two people pressing at once, shorter than any real next step.
PRESS_WINDOW_S = 3.0


@dataclass(slots=True)
class _Press:
    source: str
    began: float
    ended: float | None = None


class PressGate:
    """Per trigger and visit: the press in progress or just finished, and by whom."""

    def __init__(self, window: float = PRESS_WINDOW_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.window = window
        self.clock = clock
        self._last: dict[tuple[str, str], _Press] = {}

    def refusal(self, trigger: str, visit_id: str) -> str | None:
        """Why a press of `trigger` for the visit now is ignored, or None to go ahead."""
        last = self._last.get((trigger, visit_id))
        if last is None:
            return None
        now = self.clock()
        if last.ended is None:
            return (f"{trigger} is already being carried out (pressed {now - last.began:.1f} s "
                    f"ago from {last.source}); this press is ignored")
        if now - last.ended < self.window:
            return (f"{trigger} was just pressed ({now - last.began:.1f} s ago from "
                    f"{last.source}); this press is ignored")
        return None

    def begin(self, trigger: str, visit_id: str, source: str) -> None:
        self._last[(trigger, visit_id)] = _Press(source=source, began=self.clock())
        # Only the latest press per trigger matters; old visits' entries go.
        for key in [k for k in self._last if k[0] == trigger and k[1] != visit_id]:
            del self._last[key]

    def forget(self, trigger: str, visit_id: str) -> None:
        """The press was undone: the next one is a new press, not a double."""
        self._last.pop((trigger, visit_id), None)

    def end(self, trigger: str, visit_id: str) -> None:
        press = self._last.get((trigger, visit_id))
        if press is not None and press.ended is None:
            press.ended = self.clock()
