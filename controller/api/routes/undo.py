"""POST /triggers/{name}/undo: take back a mistaken arrival or departure press, within 30 s
(controller/engine/undo.py). Asked first without `confirm`: the answer says what was
already said and cannot be unsaid; sent again with `confirm: true`, it is undone."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body
from pydantic import BaseModel, Field

from controller.api.deps import CallerDep, DaemonDep, visit_or_404
from controller.api.models import ID_PATTERN, TriggerName
from controller.api.models import Body as Strict

router = APIRouter(tags=["triggers"])


class UndoIn(Strict):
    visit_id: Annotated[str, Field(pattern=ID_PATTERN)] | None = Field(
        default=None, description="default: the visit the press last moved")
    confirm: bool = Field(default=False, description="false: only ask what an undo means")


class UndoOut(BaseModel):
    trigger: str
    visit_id: str | None
    undone: bool
    message: str
    code: str | None = Field(description="why not: no_visit, not_undoable, moved_on, "
                             "too_late, restored, busy, acted")
    back_to: str | None = Field(description="the status the visit goes back to")
    said: list[str] = Field(description="announcements already played: they cannot be unsaid")
    needs_confirmation: bool


@router.post("/triggers/{name}/undo", response_model=UndoOut)
async def undo(name: TriggerName, daemon: DaemonDep, caller: CallerDep,
               body: Annotated[UndoIn | None, Body()] = None) -> UndoOut:
    """Undo the last arrival or departure press within 30 s: the visit goes back to where it
    was, what the press scheduled (the restore) is called off. Refused with a `code` when it
    is too late, the restore has run, or its cues have set devices."""
    body = body or UndoIn()
    if body.visit_id is not None:
        visit_or_404(daemon, body.visit_id)
    result = await daemon.undo.undo(name.engine_name, source=caller.source,
                                    visit_id=body.visit_id, confirm=body.confirm)
    return UndoOut(trigger=name.value, visit_id=result.visit_id, undone=result.undone,
                   message=result.message, code=result.code, back_to=result.back_to,
                   said=result.said, needs_confirmation=result.needs_confirmation)
