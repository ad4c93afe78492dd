"""GET /triggers: which of the four buttons can apply now, to which visit, and if not, why.

The page greys out a button that cannot apply and shows the reason under it. The answer is
worked out the way `Engine.trigger` decides, without pressing anything; pressing remains the
authority (a button pressed a moment later may still be refused, and says why). Each reason
has a `code` the page translates and a `message` in English for everyone else.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from controller.api.deps import CallerDep, DaemonDep
from controller.api.models import TriggerName
from controller.daemon import Daemon
from controller.engine.engine import STATUS_TRIGGER, TRIGGER_STATUS
from controller.store.visits import DEFAULT_DURATION, FREE, TRANSITIONS, VisitStatus

# Why a button cannot apply now.
Code = Literal["no_visit", "not_current", "over", "done", "not_now", "just_pressed", "busy"]
# How far apart two times may be and still be "now" for VIP now (a booking takes a moment).
_NOW_SLACK = timedelta(seconds=1)

router = APIRouter(tags=["triggers"])


class ButtonOut(BaseModel):
    trigger: TriggerName
    available: bool
    visit_id: str | None = Field(description="the visit a press would apply to")
    guest: str | None = Field(description="that visit's guest, e.g. 王先生")
    code: Code | None = Field(description="why not, for a translation")
    message: str | None = Field(description="why not, in English")
    done_at: str | None = Field(description="when the step was done, HH:MM:SS (code done)")
    confirm: str | None = Field(default=None, description="a press will ask to be confirmed, "
                                "and why (an arrival well before the booked start)")


def _button(daemon: Daemon, name: TriggerName) -> ButtonOut:
    engine = daemon.engine
    trigger = name.engine_name
    visit = engine.target_for(trigger)

    def no(code: Code, message: str, done_at: str | None = None) -> ButtonOut:
        return ButtonOut(trigger=name, available=False, code=code, message=message,
                         visit_id=visit.id if visit else None,
                         guest=visit.salutation if visit else None, done_at=done_at)

    if visit is None:
        return no("no_visit", f"no visit to apply {trigger} to now")
    others = [v for v in engine.engaged() if v.id != visit.id]
    if others:
        return no("not_current", f"{others[0].salutation} ({others[0].id}) is on site")
    if visit.status in FREE:
        return no("over", f"{visit.id} is {visit.status.value}")
    done_at = visit.entered.get(TRIGGER_STATUS[trigger])
    if done_at is not None:
        at = f"{done_at.astimezone(daemon.tz):%H:%M:%S}"
        return no("done", f"{trigger} for {visit.salutation} was done at {at}", at)
    target = TRIGGER_STATUS[trigger]
    early_arrival = trigger == "arrival" and visit.status is VisitStatus.BOOKED
    if target not in TRANSITIONS[visit.status] and not early_arrival:
        before = STATUS_TRIGGER.get(visit.status, visit.status.value)
        return no("not_now", f"{trigger} cannot follow {before}")
    busy = engine.presses.refusal(trigger, visit.id)
    if busy is not None:
        return no("just_pressed", busy)
    return ButtonOut(trigger=name, available=True, visit_id=visit.id, guest=visit.salutation,
                     code=None, message=None, done_at=None,
                     confirm=engine.early_arrival(trigger, visit))


def _vip_now(daemon: Daemon) -> ButtonOut:
    now = daemon.clock()
    free = daemon.book.next_free(now, DEFAULT_DURATION)
    if free - now > _NOW_SLACK:
        current = daemon.book.current(now)
        return ButtonOut(trigger=TriggerName.VIP_NOW, available=False, code="busy",
                         visit_id=current.id if current else None,
                         guest=current.salutation if current else None, done_at=None,
                         message=f"a visit now would overlap another; the site is next free "
                                 f"at {free.astimezone(daemon.tz):%H:%M}")
    return ButtonOut(trigger=TriggerName.VIP_NOW, available=True, visit_id=None, guest=None,
                     code=None, message=None, done_at=None)


@router.get("/triggers", response_model=list[ButtonOut])
async def buttons(daemon: DaemonDep, caller: CallerDep) -> list[ButtonOut]:
    """The four buttons: whether each can apply now, to which visit, and if not, why."""
    out = [_button(daemon, name) for name in TriggerName if name is not TriggerName.VIP_NOW]
    return [*out, _vip_now(daemon)]
