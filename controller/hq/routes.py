"""Head office's JSON API: every site's now, the search over all visits, bookings.

The same credentials and roles as a site's API (controller/api/deps.py `authorize`):
reading is for viewers, a booking for concierges and admins.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from controller.api.deps import CallerDep, invalid
from controller.config.site import ID_PATTERN
from controller.hq.bookings import NotConnected, booking_state, send_booking
from controller.hq.service import HeadOffice
from controller.link.wire import REQUEST_ID
from controller.store.requests import VisitRequest

router = APIRouter(tags=["head office"])


def hq_of(request: Request) -> HeadOffice:
    hq: HeadOffice = request.app.state.hq
    return hq


class BookingIn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    site: Annotated[str, Field(pattern=ID_PATTERN.pattern, max_length=64)]
    # What a site's POST /visits takes; a naive start is in the site's own timezone.
    visit: dict[str, Any]


@router.get("/sites")
async def sites(request: Request, caller: CallerDep) -> list[dict[str, Any]]:
    """Every site's now: its current and next visits, devices in trouble, when it was last
    heard from (`stale` past two missed summaries), its link."""
    return await hq_of(request).sites_now()


@router.get("/visits")
async def visits(request: Request, caller: CallerDep,
                 q: Annotated[str, Query(max_length=32)] = "",
                 site: Annotated[str | None, Query(max_length=64)] = None,
                 since: datetime | None = None, until: datetime | None = None,
                 ) -> dict[str, Any]:
    """Every site's visits, soonest first: `q` in the guest's surname or salutation, `site`,
    and those that end after `since` and start before `until`."""
    found = await asyncio.to_thread(hq_of(request).store.search, q=q.strip(), site=site,
                                    since=_utc(since), until=_utc(until))
    return {"visits": found}


def _utc(value: datetime | None) -> datetime | None:
    """Sites are in many zones: a time without an offset is taken as UTC (the page sends
    its own midnight with the browser's offset)."""
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


@router.post("/bookings", status_code=202)
async def book(body: BookingIn, request: Request, caller: CallerDep) -> dict[str, Any]:
    """Send a booking request to a site; its reply comes later (GET /bookings/{id})."""
    hq = hq_of(request)
    try:
        VisitRequest.model_validate(body.visit)  # the site checks it again, and P1
    except ValidationError as exc:
        first = exc.errors()[0]
        raise invalid(("body", "visit", *first["loc"]), first["msg"]) from None
    known = any(s["site"] == body.site for s in await hq.sites_now())
    if not known:
        raise HTTPException(404, f"no site {body.site!r} is configured or has been heard from")
    try:
        sent = await send_booking(hq.store, hq.ingest.client, hq.config.mqtt.topic_prefix,
                                  site=body.site, visit=body.visit, requested_by=caller.name)
    except NotConnected as exc:
        raise HTTPException(503, str(exc)) from None
    return await _state(hq, sent.request_id)


@router.get("/bookings/{request_id}")
async def booking(request_id: str, request: Request, caller: CallerDep) -> dict[str, Any]:
    """A request's state: waiting, link_down, booked or refused (with `collides_with` and
    `next_free`)."""
    if len(request_id) > 64 or not re.match(REQUEST_ID, request_id):
        raise HTTPException(404, "no such booking request")
    return await _state(hq_of(request), request_id)


async def _state(hq: HeadOffice, request_id: str) -> dict[str, Any]:
    row = await asyncio.to_thread(hq.store.booking, request_id)
    if row is None:
        raise HTTPException(404, "no such booking request")
    state = booking_state(row, await hq.link_up(row["site"]))
    if state.get("collides_with"):
        state["collision"] = await asyncio.to_thread(hq.store.visit, row["site"],
                                                     state["collides_with"])
    return state
