"""What every API route depends on: the daemon, the caller (the authentication seam), times."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Literal

from fastapi import Depends, Header, Request
from fastapi.exceptions import RequestValidationError

from controller.api_models import is_id
from controller.daemon import Daemon
from controller.visits import UnknownVisit, Visit

# The sources a caller may name itself as, recorded with everything it triggers or books.
# Free text would let a caller pose as a button ("button:concierge_button").
Source = Literal["api", "cli", "app"]
SOURCE_HEADER = "X-Vipctl-Source"


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is asking. Issue #4 (authentication) fills in who from a token; today anyone
    who can reach the port (127.0.0.1 by default) is trusted, as the seam below says."""

    source: str


def daemon_of(request: Request) -> Daemon:
    daemon: Daemon = request.app.state.daemon
    return daemon


def closing_of(request: Request) -> asyncio.Event:
    """Set when the API server stops: long-lived responses (the live feed) end on it."""
    closing: asyncio.Event = request.app.state.closing
    return closing


async def authorize(
    x_vipctl_source: Annotated[Source, Header(description="api (default), cli or app")] = "api",
) -> Caller:
    """The authentication seam (issue #4): every route but /health depends on it.

    Authentication will check a credential here and raise 401/403; routes only ever see
    the Caller it returns.
    """
    return Caller(source=x_vipctl_source)


DaemonDep = Annotated[Daemon, Depends(daemon_of)]
CallerDep = Annotated[Caller, Depends(authorize)]


def aware(value: datetime | None, daemon: Daemon) -> datetime | None:
    """A naive time means the site's timezone."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=daemon.tz)


def visit_or_404(daemon: Daemon, visit_id: str) -> Visit:
    if not is_id(visit_id):
        raise UnknownVisit(visit_id[:64])
    return daemon.book.get(visit_id)


def invalid(where: tuple[str | int, ...], message: str, kind: str = "value_error") -> Exception:
    """A 422 like pydantic's own, for what is checked in a route rather than in a model."""
    return RequestValidationError([{"type": kind, "loc": where, "msg": message}])
