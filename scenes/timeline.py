"""Pure planning: when each cue, hold and the restore of a visit fall, and what to do late.

Times are absolute and timezone-aware. Every offset is divided by `speed`, so that the demo
can run a 45-minute preparation in seconds; the start and the trigger times are taken as
given. A point anchored on a trigger that has not happened is "waiting" (None).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from devices.model import Announcement
from scenes.model import DEFAULT_ANNOUNCE_PRIORITY, DEFAULT_LANG, Cue, Hold, Scene
from scenes.offsets import TRIGGERS, At, Until
from scenes.templates import GuestValue, render

# A cue this close after its due time is on time whatever its late policy: it covers the
# scheduler's own jitter (APScheduler fires a job a few ms late) and a quick re-plan.
LATE_GRACE = timedelta(seconds=2)


@dataclass(frozen=True, slots=True)
class Clock:
    """A visit's known anchors, and the speed factor."""

    start: datetime
    triggers: Mapping[str, datetime]
    speed: float = 1.0

    def __post_init__(self) -> None:
        if not self.speed > 0:
            raise ValueError(f"speed must be positive, not {self.speed}")
        for name in self.triggers:
            if name not in TRIGGERS:
                raise ValueError(f"{name!r} is not a trigger; triggers are {', '.join(TRIGGERS)}")
        for name, when in {"start": self.start, **self.triggers}.items():
            if when.tzinfo is None or when.utcoffset() is None:
                raise ValueError(f"{name} time {when.isoformat()} has no timezone")

    def when(self, at: At) -> datetime | None:
        base = self.start if at.anchor == "start" else self.triggers.get(at.anchor)
        return None if base is None else base + at.offset / self.speed


@dataclass(frozen=True, slots=True)
class PlannedCue:
    cue: Cue
    due: datetime | None  # None: waiting for its trigger
    deadline: datetime | None  # a late cue runs until then; None: no deadline (yet)

    @property
    def waiting(self) -> bool:
        return self.due is None


@dataclass(frozen=True, slots=True)
class PlannedHold:
    hold: Hold
    begins: datetime | None  # None: waiting for its trigger
    ends: datetime | None  # None: waiting (for a trigger, or for the restore's)


def _clock(start: datetime, triggers: Mapping[str, datetime], speed: float) -> Clock:
    return Clock(start, dict(triggers), speed)


def _until(clock: Clock, scene: Scene, until: Until) -> datetime | None:
    return clock.when(scene.restore.at if until == "end" else until)


def plan(scene: Scene, *, start: datetime, triggers: Mapping[str, datetime],
         speed: float = 1.0) -> list[PlannedCue]:
    """Every cue with its due time, in order of time; waiting cues last, in visit order."""
    clock = _clock(start, triggers, speed)
    planned = []
    for cue in scene.ordered_cues():
        late = cue.late
        deadline = None
        if late.policy == "skip":
            deadline = clock.when(cue.at)
        elif late.policy == "run_until" and late.until is not None:
            deadline = _until(clock, scene, late.until)
        planned.append(PlannedCue(cue, clock.when(cue.at), deadline))
    # sorted() is stable: cues due at the same time keep the visit order.
    return sorted(planned, key=lambda p: (p.due is None, p.due or start))


def plan_holds(scene: Scene, *, start: datetime, triggers: Mapping[str, datetime],
               speed: float = 1.0) -> list[PlannedHold]:
    clock = _clock(start, triggers, speed)
    return [PlannedHold(h, clock.when(h.start), _until(clock, scene, h.until))
            for h in scene.holds]


def restore_time(scene: Scene, *, start: datetime, triggers: Mapping[str, datetime],
                 speed: float = 1.0) -> datetime | None:
    """When the scene's claims are released; None until its trigger has happened."""
    return _clock(start, triggers, speed).when(scene.restore.at)


def lateness_decision(planned: PlannedCue, now: datetime, *,
                      grace: timedelta = LATE_GRACE) -> Literal["run", "skip"]:
    """Whether a cue that is due (or overdue) at `now` still runs."""
    if planned.due is None:
        raise ValueError(f"cue {planned.cue.id} is waiting for {planned.cue.at.anchor}")
    if now <= planned.due + grace:
        return "run"
    policy = planned.cue.late.policy
    if policy == "run":
        return "run"
    if policy == "skip":
        return "skip"
    return "run" if planned.deadline is None or now <= planned.deadline else "skip"


def preparation(scene: Scene) -> list[Cue]:
    """The cues before the visit, in order: "VIP now" runs them at once."""
    return scene.preparation()


def announcements(scene: Scene, cue: Cue, guest: Mapping[str, GuestValue], *,
                  key: str) -> list[tuple[str, Announcement]]:
    """What a cue says, as (intercom device id, Announcement), the announcement before the
    reminder. Ids are `{key}:{cue id}:announce` and `...:remind`: with a key unique per
    visit, an id names one step of one visit, which is what lets a gateway drop a repeat."""
    defaults = scene.announcements
    out: list[tuple[str, Announcement]] = []
    for kind, item in (("announce", cue.announce), ("remind", cue.remind)):
        if item is None:
            continue
        intercom = item.intercom or (defaults.intercom if defaults else None)
        if intercom is None:  # the scene's own validation refuses this
            raise ValueError(f"cue {cue.id}: no intercom for its {kind}")
        priority = item.priority if item.priority is not None else \
            (defaults.priority if defaults else DEFAULT_ANNOUNCE_PRIORITY)
        lang = getattr(item, "lang", None) or (defaults.lang if defaults else DEFAULT_LANG)
        text = render(item.text, guest)
        out.append((intercom, Announcement(f"{key}:{cue.id}:{kind}", text, priority, lang)))
    return out
