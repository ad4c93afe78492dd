"""API routes for the site: devices, the status at a glance, the event log and its live feed."""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from fastapi.responses import StreamingResponse

from controller.api.deps import CallerDep, DaemonDep, aware, closing_of, invalid
from controller.api.models import (
    ID_PATTERN,
    DeviceOut,
    ErrorOut,
    EventOut,
    EventPage,
    SiteTime,
    StatusOut,
    VisitOut,
)
from controller.daemon import Daemon
from controller.store.events import EVENT_KINDS, MAX_PAGE, Event, Subscription
from controller.store.visits import VisitStatus

# How many upcoming visits and recent alerts /status shows.
STATUS_NEXT = 5
STATUS_ALERTS = 10
ALERT_KINDS = ("alert", "failed")
# What EventSource waits before reconnecting after the feed drops (milliseconds).
SSE_RETRY_MS = 3000
MAX_EVENT_ID = 2**63 - 1  # the database's integer; a larger before_id cannot be bound
# The most events a reconnecting feed is sent from the database (Last-Event-ID); a client
# away for longer reads the state afresh, as the page does on every reconnect.
MAX_REPLAY = MAX_PAGE
_ERRORS: dict[int | str, dict[str, Any]] = {404: {"model": ErrorOut}, 422: {"model": ErrorOut}}

Id = Annotated[str, Query(pattern=ID_PATTERN)]
Kinds = Annotated[list[str] | None, Query(description=f"any of {', '.join(sorted(EVENT_KINDS))}")]

router = APIRouter()


def _device(daemon: Daemon, device_id: str) -> DeviceOut:
    device = daemon.registry[device_id]
    groups = sorted(g for g, ids in daemon.registry.groups.items() if device_id in ids)
    text = daemon.executor.failure_texts.get(device_id)
    return DeviceOut.of(device.snapshot(), groups, daemon.tz,
                        None if text is None else (text.zh, text.en))


@router.get("/devices", response_model=list[DeviceOut], tags=["devices"])
async def list_devices(daemon: DaemonDep, caller: CallerDep) -> list[DeviceOut]:
    """Every device: its last reported state, availability, whether it can report at all
    (assumed), and its last command's failure and since when."""
    return [_device(daemon, device_id) for device_id in daemon.registry.devices]


@router.get("/devices/{device_id}", response_model=DeviceOut, responses=_ERRORS,
            tags=["devices"])
async def get_device(device_id: Annotated[str, Path(max_length=64)], daemon: DaemonDep,
                     caller: CallerDep) -> DeviceOut:
    return _device(daemon, device_id)


@router.get("/status", response_model=StatusOut, tags=["status"])
async def status(daemon: DaemonDep, caller: CallerDep) -> StatusOut:
    """The visit under way, the next ones, devices with problems and recent alerts."""
    now = daemon.clock()
    current = daemon.book.current(now)
    coming = daemon.book.list(statuses=[VisitStatus.BOOKED, VisitStatus.PREPARING],
                              limit=STATUS_NEXT + 1)
    upcoming = [v for v in coming if current is None or v.id != current.id][:STATUS_NEXT]
    devices = [_device(daemon, device_id) for device_id in daemon.registry.devices]
    alerts = daemon.events.query(kinds=ALERT_KINDS, limit=STATUS_ALERTS)
    return StatusOut(
        site=daemon.site.site.name, timezone=str(daemon.tz), now=now.astimezone(daemon.tz),
        speed=daemon.speed, broker_connected=daemon.transport.connected.is_set(),
        current=None if current is None else VisitOut.of(current, daemon.tz),
        next=[VisitOut.of(v, daemon.tz) for v in upcoming],
        device_problems=[d for d in devices if d.has_problem],
        alerts=[EventOut.of(e, daemon.tz) for e in alerts],
    )


def _kinds(kind: list[str] | None) -> list[str] | None:
    for i, name in enumerate(kind or []):
        if name not in EVENT_KINDS:
            raise invalid(("query", "kind", i), f"{name[:40]!r} is not an event kind; kinds are "
                          f"{', '.join(sorted(EVENT_KINDS))}")
    return kind


@router.get("/events", response_model=EventPage, responses=_ERRORS, tags=["events"])
async def events(
    daemon: DaemonDep,
    caller: CallerDep,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    before_id: Annotated[int | None, Query(ge=1, le=MAX_EVENT_ID,
                                           description="older than this event")] = None,
    visit_id: Id | None = None,
    kind: Kinds = None,
    device_id: Id | None = None,
    since: Annotated[SiteTime | None, Query()] = None,
) -> Response:
    """The event log, newest first, a page at a time: pass `next_before_id` as `before_id`."""
    found = await daemon.events.page(since=aware(since, daemon), visit_id=visit_id,
                                     kinds=_kinds(kind), device_id=device_id, limit=limit,
                                     before_id=before_id)
    more = found[-1].id if len(found) == limit else None

    def render() -> bytes:  # events are immutable: safe to read in another thread
        page = EventPage(events=[EventOut.of(e, daemon.tz) for e in found], next_before_id=more)
        return page.model_dump_json().encode()

    # Built off the loop, and returned as it is (FastAPI would validate it a second time).
    return Response(await daemon.db.off_loop(render), media_type="application/json")


def _sse(event: EventOut) -> bytes:
    data = json.dumps(event.model_dump(mode="json"), ensure_ascii=False)
    return f"id: {event.id}\nevent: {event.kind}\ndata: {data}\n\n".encode()


async def live(daemon: Daemon, feed: Subscription, closing: asyncio.Event,
               wanted: Callable[[Event], bool], heartbeat: float,
               missed: Callable[[], Awaitable[list[Event]]] | None = None,
               ) -> AsyncIterator[bytes]:
    """Events as they happen, until the server or the daemon stops or the client leaves.

    `missed`: the events after the client's Last-Event-ID, read from the database once the
    feed is subscribed: sent first, oldest first; the feed's own copies of them (written
    meanwhile) are then skipped by id, so the client gets each event once, in order."""
    stops: set[asyncio.Future[Any]] = {asyncio.ensure_future(closing.wait()),
                                       asyncio.ensure_future(daemon.stopping.wait())}
    pending: asyncio.Future[Any] | None = None
    sent = 0  # the id of the last event replayed
    try:
        yield f"retry: {SSE_RETRY_MS}\n: vipctl event stream\n\n".encode()
        for event in await missed() if missed is not None else []:
            yield _sse(EventOut.of(event, daemon.tz))
            sent = event.id
        while True:
            if pending is None:
                pending = asyncio.ensure_future(feed.__anext__())
            done, _ = await asyncio.wait({pending, *stops}, timeout=heartbeat,
                                         return_when=asyncio.FIRST_COMPLETED)
            if done & stops:
                return
            if pending in done:
                event, pending = pending.result(), None
                if event.id > sent and wanted(event):
                    yield _sse(EventOut.of(event, daemon.tz))
            else:
                yield b": heartbeat\n\n"
    finally:
        for future in (*stops, pending):
            if future is not None:
                future.cancel()
        feed.close()


def _event_id(value: str) -> int | None:
    """An id we sent, back from EventSource; anything else is treated as no id at all
    (the spec's client sends back whatever the last `id:` line held)."""
    value = value.strip()
    return int(value) if value.isdigit() and int(value) <= MAX_EVENT_ID else None


@router.get("/events/stream", tags=["events"], response_class=StreamingResponse,
            responses={**_ERRORS, 200: {"content": {"text/event-stream": {}}}})
async def stream(
    request: Request,
    daemon: DaemonDep,
    caller: CallerDep,
    closing: Annotated[asyncio.Event, Depends(closing_of)],
    visit_id: Id | None = None,
    kind: Kinds = None,
    device_id: Id | None = None,
    last_event_id: Annotated[str | None, Header(
        alias="Last-Event-ID", description="what EventSource sends when it reconnects: the "
        "events after it are sent first, from the database")] = None,
    after: Annotated[int | None, Query(ge=0, le=MAX_EVENT_ID, description="as Last-Event-ID, "
                                       "for a client that opens a new stream itself")] = None,
) -> StreamingResponse:
    """Server-sent events, live: `id` is the event id, `event` its kind, `data` the event as
    JSON; a `: heartbeat` comment every 15 s when idle. Same filters as /events. With
    `Last-Event-ID` (or `after`), what was missed since that event comes first, then the
    live feed, with no gap and nothing twice."""
    kinds = _kinds(kind)

    def wanted(event: Event) -> bool:
        return ((visit_id is None or event.visit_id == visit_id)
                and (kinds is None or event.kind in kinds)
                and (device_id is None or event.device_id == device_id))

    heartbeat: float = request.app.state.heartbeat
    # Subscribed before the response starts: a client that has read the first comment has
    # missed nothing since (the CLI reads the log's last page after it, then goes live).
    feed = daemon.events.subscribe()
    since = _event_id(last_event_id) if last_event_id is not None else after
    missed = None if since is None else functools.partial(
        daemon.events.after, since, visit_id=visit_id, kinds=kinds, device_id=device_id,
        limit=MAX_REPLAY)
    return StreamingResponse(live(daemon, feed, closing, wanted, heartbeat, missed),
                             media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
