"""API routes for signing in and out, who am I, and (for admins) the open sessions."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from controller.api.auth_middleware import CHALLENGE, client_address, refuse, same_origin, too_many
from controller.api.deps import SESSION_COOKIE, AdminDep, CallerDep, DaemonDep
from controller.api.models import Body, ErrorOut
from controller.auth.credentials import Authenticator
from controller.auth.settings import Role

# Longest user name and password looked at; anything longer is not one of ours.
MAX_USER, MAX_PASSWORD = 64, 1024
_ERRORS: dict[int | str, dict[str, Any]] = {401: {"model": ErrorOut}, 403: {"model": ErrorOut},
                                            422: {"model": ErrorOut}}

router = APIRouter(prefix="/auth", tags=["auth"])


class LoginRequest(Body):
    user: Annotated[str, Field(min_length=1, max_length=MAX_USER)]
    password: Annotated[str, Field(min_length=1, max_length=MAX_PASSWORD)]


class MeOut(BaseModel):
    name: str
    role: Role
    via: str = Field(description="token or session")


class SessionOut(BaseModel):
    user: str
    role: Role
    created: datetime
    last_seen: datetime
    current: bool = Field(description="the session of the caller")


class EndedOut(BaseModel):
    ended: int


def auth_of(request: Request) -> Authenticator:
    auth: Authenticator = request.app.state.auth
    return auth


@router.post("/login", response_model=MeOut,
             responses={**_ERRORS, 429: {"model": ErrorOut}})
async def login(body: LoginRequest, request: Request, response: Response) -> Any:
    """Sign in with a user name and password from the site file: sets the session cookie
    (HttpOnly, SameSite=Strict). Repeated failures for a name from one address are
    answered 429 with Retry-After, for longer each time."""
    auth = auth_of(request)
    if not same_origin(request.headers):
        return refuse(403, "cross_site", "a sign-in from another site's page")
    key = f"login:{client_address(request.scope)}:{body.user.casefold()}"
    wait = auth.throttle.wait(key)
    if wait > 0:
        return too_many(wait)
    role = await asyncio.to_thread(auth.check_password, body.user, body.password)
    if role is None:
        auth.throttle.failed(key)
        return refuse(401, "bad_credentials", "wrong user name or password", CHALLENGE)
    auth.throttle.succeeded(key)
    session_id = auth.open_session(body.user, role)
    response.set_cookie(SESSION_COOKIE, session_id, max_age=int(auth.session_seconds),
                        path="/", httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")
    return MeOut(name=body.user, role=role, via="session")


@router.post("/logout", status_code=204, response_class=Response)
async def logout(request: Request) -> Response:
    """End this browser's session (if any) and drop its cookie."""
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id:
        auth_of(request).close_session(session_id)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return response


@router.get("/me", response_model=MeOut, responses=_ERRORS)
async def me(caller: CallerDep) -> MeOut:
    """Who the credential belongs to, and its role."""
    return MeOut(name=caller.name, role=caller.role, via=caller.via)


@router.get("/sessions", response_model=list[SessionOut], responses=_ERRORS)
async def sessions(request: Request, daemon: DaemonDep, caller: AdminDep) -> list[SessionOut]:
    """Everyone signed in to the page (admins only). No session ids are shown."""
    auth = auth_of(request)
    mine = request.cookies.get(SESSION_COOKIE)
    current = auth.session_key(mine) if mine else None
    return [SessionOut(user=s.user, role=s.role, current=s.key == current,
                       created=datetime.fromtimestamp(s.created, daemon.tz),
                       last_seen=datetime.fromtimestamp(s.last_seen, daemon.tz))
            for s in auth.sessions()]


@router.delete("/sessions", response_model=EndedOut, responses=_ERRORS)
async def end_sessions(request: Request, caller: AdminDep) -> EndedOut:
    """Sign out every other session (a lost phone): admins only."""
    return EndedOut(ended=auth_of(request).end_sessions(keep=request.cookies.get(SESSION_COOKIE)))
