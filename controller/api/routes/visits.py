"""API routes for visits, their dry-run plan, and the triggers.

Every route is `async def`: the engine, its scheduler and its lock live on the daemon's
event loop, and a plain `def` route would run in a worker thread.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from controller.api.deps import CallerDep, DaemonDep, aware, invalid, visit_or_404
from controller.api.models import (
    CancelRequest,
    ErrorOut,
    MoveRequest,
    Refusal,
    SiteTime,
    TriggerName,
    TriggerOut,
    TriggerRequest,
    VisitOut,
    VisitPage,
)
from controller.api.plan import PlanOut, visit_plan
from controller.api.routes.preflight import router as preflight_router
from controller.daemon import ANONYMOUS_GUEST, Daemon
from controller.store.requests import VisitRequest
from controller.store.visits import VisitStatus

_ERRORS: dict[int | str, dict[str, Any]] = {404: {"model": ErrorOut}, 422: {"model": ErrorOut}}
_REFUSED: dict[int | str, dict[str, Any]] = {**_ERRORS, 409: {"model": Refusal}}
VisitId = Annotated[str, Path(description="a visit id, e.g. v-1a2b3c")]
# A page of visits: enough for a day at the busiest site; more are paged, so that no
# request builds an unbounded answer on the daemon's loop.
DEFAULT_PAGE, MAX_PAGE = 100, 500

router = APIRouter()
router.include_router(preflight_router)  # GET and POST /visits/{id}/preflight


@router.post("/visits", status_code=201, response_model=VisitOut, responses=_REFUSED,
             tags=["visits"])
async def create_visit(booking: VisitRequest, daemon: DaemonDep, caller: CallerDep) -> VisitOut:
    """Book a visit. A naive `start` is in the site's timezone; `duration` is minutes.
    An overlap (P1: one visitor at a time) is refused with 409, the visit in the way and
    the next free start."""
    visit = await daemon.engine.book_visit(booking, source=caller.source)
    return VisitOut.of(visit, daemon.tz)


@router.get("/visits", response_model=VisitPage, responses=_ERRORS, tags=["visits"])
async def list_visits(
    daemon: DaemonDep,
    caller: CallerDep,
    since: Annotated[SiteTime | None, Query(description="starting at or after")] = None,
    until: Annotated[SiteTime | None, Query(description="starting before")] = None,
    status: Annotated[list[VisitStatus] | None, Query(description="any of these")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
    after_id: Annotated[str | None, Query(description="the page after this visit")] = None,
) -> Response:
    """Visits in order of start, a page at a time: pass `next_after_id` as `after_id`."""
    after = None if after_id is None else visit_or_404(daemon, after_id)
    visits = await daemon.book.page(aware(since, daemon), aware(until, daemon), status,
                                    after=after, limit=limit)
    more = visits[-1].id if len(visits) == limit else None

    def render() -> bytes:  # visits are immutable: safe to read in another thread
        page = VisitPage(visits=[VisitOut.of(v, daemon.tz) for v in visits], next_after_id=more)
        return page.model_dump_json().encode()

    # Built off the loop, and returned as it is (FastAPI would validate it a second time).
    return Response(await daemon.db.off_loop(render), media_type="application/json")


@router.get("/visits/{visit_id}", response_model=VisitOut, responses=_ERRORS, tags=["visits"])
async def get_visit(visit_id: VisitId, daemon: DaemonDep, caller: CallerDep) -> VisitOut:
    return VisitOut.of(visit_or_404(daemon, visit_id), daemon.tz)


@router.post("/visits/{visit_id}/move", response_model=VisitOut, responses=_REFUSED,
             tags=["visits"])
async def move_visit(visit_id: VisitId, move: MoveRequest, daemon: DaemonDep,
                     caller: CallerDep) -> VisitOut:
    """A new start (and optionally duration) for a booked or preparing visit; its schedule
    follows at once."""
    visit_or_404(daemon, visit_id)
    start = aware(move.start, daemon)
    assert start is not None
    visit = await daemon.engine.move_visit(visit_id, start, move.duration, source=caller.source)
    return VisitOut.of(visit, daemon.tz)


@router.post("/visits/{visit_id}/cancel", response_model=VisitOut,
             responses={**_ERRORS, 409: {"model": ErrorOut}}, tags=["visits"])
async def cancel_visit(visit_id: VisitId, cancel: CancelRequest, daemon: DaemonDep,
                       caller: CallerDep) -> VisitOut:
    """Cancel a visit; if its preparation already ran, the site is restored."""
    visit_or_404(daemon, visit_id)
    visit = await daemon.engine.cancel_visit(visit_id, cancel.reason, source=caller.source)
    return VisitOut.of(visit, daemon.tz)


@router.get("/visits/{visit_id}/plan", response_model=PlanOut, responses=_ERRORS,
            tags=["visits"])
async def plan_visit(visit_id: VisitId, daemon: DaemonDep, caller: CallerDep) -> PlanOut:
    """The dry run: every cue with its time (or what it waits for), its late policy, the
    messages it will send each device, the announcements with the guest's name; the holds
    and the restore."""
    return visit_plan(daemon, visit_or_404(daemon, visit_id))


def _guest(daemon: Daemon, guest: dict[str, Any] | None) -> VisitRequest:
    given = dict(ANONYMOUS_GUEST) if guest is None else guest
    if "start" in given:
        raise invalid(("body", "guest", "start"), "vip-now starts now: leave start out")
    try:
        return VisitRequest.model_validate({**given, "start": daemon.clock()},
                                           context={"tz": daemon.tz})
    except ValidationError as exc:
        raise RequestValidationError([
            {**e, "loc": ("body", "guest", *e["loc"])}
            for e in exc.errors(include_input=False, include_url=False)]) from None


@router.post("/triggers/{name}", response_model=TriggerOut, responses=_REFUSED,
             tags=["triggers"])
async def trigger(
    name: TriggerName,
    daemon: DaemonDep,
    caller: CallerDep,
    body: Annotated[TriggerRequest | None, Body()] = None,
) -> TriggerOut:
    """arrival, show-flat, departure: for `visit_id` or the current visit; a repeat is not
    accepted (nothing is said twice). vip-now: an unbooked visit, prepared at once, for the
    `guest` given (default 贵宾). An arrival more than 30 minutes before its visit's start is
    not done but answered with `needs_confirmation`: send it again with `confirm: true`."""
    body = body or TriggerRequest()
    if name is TriggerName.VIP_NOW:
        if body.visit_id is not None:
            raise invalid(("body", "visit_id"), "vip-now makes a new visit; leave visit_id out")
        visit = await daemon.engine.vip_now(_guest(daemon, body.guest), source=caller.source)
        return TriggerOut(trigger=name.value, accepted=True, visit_id=visit.id,
                          message=f"vip-now: {visit.salutation}")
    if body.guest is not None:
        raise invalid(("body", "guest"), f"{name.value} is for a booked visit; guest is only "
                      "for vip-now")
    if body.visit_id is not None:
        visit_or_404(daemon, body.visit_id)
    result = await daemon.engine.trigger(name.engine_name, source=caller.source,
                                         visit_id=body.visit_id, confirmed=body.confirm)
    return TriggerOut(trigger=name.value, accepted=result.accepted, message=result.message,
                      visit_id=result.visit_id, needs_confirmation=result.needs_confirmation)
