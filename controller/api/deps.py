"""What every API route depends on: the daemon, the caller and its role (the authentication
seam), times."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Literal

from fastapi import Depends, Header, HTTPException, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from controller.api.models import is_id
from controller.auth.credentials import Principal
from controller.auth.settings import Role
from controller.daemon import Daemon
from controller.store.visits import UnknownVisit, Visit

# The sources a caller may name itself as, recorded with everything it triggers or books.
# Free text would let a caller pose as a button ("button:concierge_button").
Source = Literal["api", "cli", "app"]
SOURCE_HEADER = "X-Vipctl-Source"
# The page's session cookie (HttpOnly, SameSite=Strict; set by POST /auth/login).
SESSION_COOKIE = "vipctl_session"
# Methods that only read.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is asking, as the authentication middleware (controller.api.auth_middleware) found them:
    the credential's name and role, and the source recorded with what they book or trigger
    (the X-Vipctl-Source header for a token; "app:<user>" for the page's signed-in user)."""

    source: str
    name: str = "anonymous"
    role: Role = Role.VIEWER
    via: str = "token"


# Dependencies are `async def`: FastAPI runs a plain `def` one in a worker thread, and an
# idle worker outlives the request (the demo counts it as left running).
async def daemon_of(request: Request) -> Daemon:
    daemon: Daemon = request.app.state.daemon
    return daemon


async def closing_of(request: Request) -> asyncio.Event:
    """Set when the API server stops: long-lived responses (the live feed) end on it."""
    closing: asyncio.Event = request.app.state.closing
    return closing


def needed_role(method: str) -> Role:
    """Reading is for viewers; anything that changes something (a booking, a trigger) for
    concierges. Routes for admins only say so with AdminDep."""
    return Role.VIEWER if method in SAFE_METHODS else Role.CONCIERGE


def _caller(request: Request, source: str | None, needed: Role) -> Caller:
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None:  # only when an app was built without the middleware
        raise HTTPException(401, "sign in or send a token",
                            headers={"WWW-Authenticate": "Bearer"})
    if not principal.role.allows(needed):
        raise HTTPException(403, f"this needs the {needed.value} role; "
                            f"{principal.name} is {principal.role.value}")
    if principal.via == "session":
        source = f"app:{principal.name}"
    return Caller(source=source or "api", name=principal.name, role=principal.role,
                  via=principal.via)


# Declared for the OpenAPI schema (and its docs page): the middleware does the checking.
_bearer = HTTPBearer(auto_error=False, description="an API token from the site file")
_cookie = APIKeyCookie(name=SESSION_COOKIE, auto_error=False,
                       description="the page's session, from POST /auth/login")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)]
SessionCookie = Annotated[str | None, Security(_cookie)]


async def authorize(
    request: Request,
    bearer: Credentials,
    cookie: SessionCookie,
    x_vipctl_source: Annotated[Source, Header(description="api (default), cli or app")] = "api",
) -> Caller:
    """The authentication seam: every route but /health (and the page's files) depends on it.

    The middleware has already turned away a request without a valid credential (401);
    here the role is checked against what the request does (403).
    """
    return _caller(request, x_vipctl_source, needed_role(request.method))


async def authorize_admin(request: Request, bearer: Credentials, cookie: SessionCookie,
                          ) -> Caller:
    return _caller(request, None, Role.ADMIN)


DaemonDep = Annotated[Daemon, Depends(daemon_of)]
CallerDep = Annotated[Caller, Depends(authorize)]
AdminDep = Annotated[Caller, Depends(authorize_admin)]


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
