"""The preflight of a visit: its devices' problems now, and a check run on request (the
page's re-check button, `vipctl preflight`). The scheduled one runs by itself (start-60m)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from controller.api.deps import CallerDep, DaemonDep, visit_or_404
from controller.api.models import ErrorOut
from controller.daemon import Daemon

_ERRORS: dict[int | str, dict[str, Any]] = {404: {"model": ErrorOut}, 422: {"model": ErrorOut}}
VisitId = Annotated[str, Path(description="a visit id, e.g. v-1a2b3c")]

router = APIRouter()


class ProblemOut(BaseModel):
    device_id: str
    name: str
    problem: str = Field(description="offline, no_answer or unreadable")
    text: str = Field(description="what staff are told, in Chinese")


class PreflightOut(BaseModel):
    visit_id: str
    checked_at: datetime | None = Field(description="the last check; null: not checked yet")
    problems: list[ProblemOut] = Field(description="as the last check left them")
    checked: list[str] = Field(default_factory=list,
                               description="the devices this check looked at (POST only)")
    cleared: list[str] = Field(default_factory=list,
                               description="devices an earlier check found wrong, now fine")
    told: bool = Field(default=False, description="engineering was told over the intercom")


def _local(daemon: Daemon, at: datetime | None) -> datetime | None:
    return None if at is None else at.astimezone(daemon.tz)


def _name(daemon: Daemon, device_id: str) -> str:
    device = daemon.registry.devices.get(device_id)
    return device.name if device is not None else device_id


@router.get("/visits/{visit_id}/preflight", response_model=PreflightOut, responses=_ERRORS,
            tags=["visits"])
async def preflight_state(visit_id: VisitId, daemon: DaemonDep,
                          caller: CallerDep) -> PreflightOut:
    """The problems the visit's last device check found (none: nothing wrong, or not yet
    checked)."""
    visit_or_404(daemon, visit_id)
    problems, checked = daemon.preflight.state(visit_id)
    return PreflightOut(visit_id=visit_id, checked_at=_local(daemon, checked), problems=[
        ProblemOut(device_id=d, name=_name(daemon, d), problem=str(p.get("problem", "")),
                   text=str(p.get("text", ""))) for d, p in sorted(problems.items())])


@router.post("/visits/{visit_id}/preflight", response_model=PreflightOut, responses=_ERRORS,
             tags=["visits"])
async def preflight_now(visit_id: VisitId, daemon: DaemonDep, caller: CallerDep) -> PreflightOut:
    """Check the visit's devices now, changing nothing: each available, its state readable,
    the intercom answering. Problems and what was fixed go to the event log; new problems
    before the visit's start are told to engineering over the intercom."""
    visit_or_404(daemon, visit_id)
    report = await daemon.preflight.run(visit_id, source=caller.source)
    return PreflightOut(
        visit_id=visit_id, checked_at=daemon.clock().astimezone(daemon.tz),
        checked=report.checked, cleared=report.cleared, told=report.told,
        problems=[ProblemOut(device_id=p.device_id, name=p.name, problem=p.problem,
                             text=p.text) for p in report.problems])
