"""POST /say: a manual announcement (`vipctl say TEXT`), queued like the scene's own.

It goes through the same announcer as the procedure's announcements: queued by priority, one
at a time per intercom, the music ducked, and logged as queued, then played or failed. By
default the answer waits until the intercom reports the announcement played.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from controller.api.deps import CallerDep, DaemonDep, invalid
from controller.daemon import Daemon
from devices.announcements import MAX_TEXT_CHARS, check_announcement
from devices.capabilities import Intercom
from devices.errors import NotCapable
from devices.model import Announcement

# A manual announcement outranks the procedure's ordinary ones (5) unless told otherwise.
DEFAULT_PRIORITY = 6

router = APIRouter()


class SayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: Annotated[str, Field(min_length=1, max_length=MAX_TEXT_CHARS)]
    priority: Annotated[int, Field(ge=0, le=9)] = DEFAULT_PRIORITY  # 9 is the most urgent
    lang: Literal["zh", "en"] = "zh"
    intercom: str | None = None  # default: the scene's intercom, or the site's only one
    wait: bool = True  # answer once played (or failed); false: once queued


class SayOut(BaseModel):
    id: str
    intercom: str
    queued: bool
    played: bool | None  # None when not waited for


def default_intercom(daemon: Daemon) -> str:
    defaults = daemon.scene.announcements
    if defaults is not None and defaults.intercom:
        return defaults.intercom
    intercoms = list(daemon.registry.having(Intercom))
    if len(intercoms) != 1:
        raise invalid(("body", "intercom"),
                      f"name the intercom: this site has {len(intercoms)} "
                      f"({', '.join(intercoms) or 'none'})")
    return intercoms[0]


@router.post("/say", response_model=SayOut, tags=["announcements"])
async def say(body: SayIn, daemon: DaemonDep, caller: CallerDep) -> SayOut:
    """Say `text` on the intercom: queued by priority behind anything being said, the music
    ducked while it plays. With `wait` (the default) the answer says whether it was played."""
    intercom = body.intercom or default_intercom(daemon)
    try:
        daemon.registry.get(intercom, Intercom)  # 404 for an unknown device
    except NotCapable as exc:
        raise invalid(("body", "intercom"), f"{intercom} is a {exc.kind}, not an intercom",
                      ) from None
    announcement = Announcement(f"say:{uuid.uuid4().hex[:12]}", body.text.strip(),
                                body.priority, body.lang)
    try:
        check_announcement(announcement)
    except ValueError as exc:
        raise invalid(("body", "text"), str(exc)) from None
    step = f"say:{caller.source}"
    job = daemon.announcer.say(intercom, announcement, visit_id=daemon.current.id, step=step)
    if body.wait:
        played = await job
        return SayOut(id=announcement.id, intercom=intercom, queued=True, played=played)
    daemon.spawn(job, f"say:{announcement.id}")
    await asyncio.sleep(0)  # let it reach the queue before answering
    return SayOut(id=announcement.id, intercom=intercom, queued=True, played=None)
