"""Every error the API gives, as JSON with a reason a person can read.

Bad input is a 4xx: 422 for a request that does not validate, 404 for an unknown visit or
device, 409 for a refused booking or a status change the visit cannot make, 413 for a body
too large. A 500 means a bug in vipctl: it is logged with its traceback and the caller is
told only that, never the internals.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from controller.api.models import ErrorOut, Refusal
from controller.store.visits import BookingRefused, IllegalTransition, UnknownVisit
from controller.store.walk_ins import UnknownWalkIn, WalkInAlreadyBooked
from devices.errors import UnknownTarget

log = logging.getLogger(__name__)

MAX_MESSAGE = 300  # one problem's message; pydantic's can quote a whole input
_STATUS_ERRORS = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 413: "too_large",
                  415: "unsupported_media_type"}
_PREFIXES = ("Value error, ", "Assertion failed, ")


def _where(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] == "body":
        parts = parts[1:]
        return ".".join(parts) if parts else "body"
    return " ".join(parts[:1]) + (" " + ".".join(parts[1:]) if len(parts) > 1 else "")


def _problem(error: dict[str, Any], json_body: bool) -> dict[str, str]:
    kind = str(error.get("type", "invalid"))
    message = str(error.get("msg", "invalid"))
    for prefix in _PREFIXES:
        message = message.removeprefix(prefix)
    loc = error.get("loc", ())
    if kind == "json_invalid":
        reason = (error.get("ctx") or {}).get("error", "")
        return {"where": "body", "type": kind,
                "message": f"not valid JSON: {reason}"[:MAX_MESSAGE]}
    if kind == "missing" and tuple(loc) == ("body",):
        message = "a JSON body is required"
    elif tuple(loc) == ("body",) and not json_body:
        message = "send the body as JSON, with Content-Type: application/json"
    return {"where": _where(loc), "type": kind, "message": message[:MAX_MESSAGE]}


def _json(status: int, body: ErrorOut | Refusal, headers: dict[str, str] | None = None,
          ) -> JSONResponse:
    return JSONResponse(body.model_dump(mode="json", exclude_none=True), status_code=status,
                        headers=headers)


async def _invalid(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    json_body = "json" in request.headers.get("content-type", "")
    problems = [_problem(e, json_body) for e in exc.errors()]
    message = "; ".join(f"{p['where']}: {p['message']}" for p in problems) or "invalid request"
    return _json(422, ErrorOut(error="invalid_request", message=message, errors=problems))


async def _refused(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, BookingRefused)
    tz = request.app.state.daemon.tz
    free = exc.next_free.astimezone(tz) if exc.next_free is not None else None
    return _json(409, Refusal(message=exc.reason, reason=exc.reason,
                              collides_with=exc.collides_with, next_free=free))


async def _unknown_visit(request: Request, exc: Exception) -> JSONResponse:
    return _json(404, ErrorOut(error="unknown_visit", message=str(exc)[:MAX_MESSAGE]))


async def _unknown_device(request: Request, exc: Exception) -> JSONResponse:
    return _json(404, ErrorOut(error="unknown_device", message=str(exc)[:MAX_MESSAGE]))


async def _unknown_walk_in(request: Request, exc: Exception) -> JSONResponse:
    return _json(404, ErrorOut(error="unknown_walk_in", message=str(exc)[:MAX_MESSAGE]))


async def _already_booked(request: Request, exc: Exception) -> JSONResponse:
    return _json(409, ErrorOut(error="already_booked", message=str(exc)[:MAX_MESSAGE]))


async def _illegal(request: Request, exc: Exception) -> JSONResponse:
    return _json(409, ErrorOut(error="illegal_transition", message=str(exc)))


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    error = _STATUS_ERRORS.get(exc.status_code, "http_error")
    return _json(exc.status_code, ErrorOut(error=error, message=str(exc.detail)),
                 headers=dict(exc.headers) if exc.headers else None)


async def _bug(request: Request, exc: Exception) -> JSONResponse:
    log.error("API %s %s failed", request.method, request.url.path, exc_info=exc)
    return _json(500, ErrorOut(error="internal_error",
                               message="vipctl failed on this request; the daemon's log has why"))


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(BookingRefused, _refused)
    app.add_exception_handler(UnknownVisit, _unknown_visit)
    app.add_exception_handler(UnknownTarget, _unknown_device)
    app.add_exception_handler(IllegalTransition, _illegal)
    app.add_exception_handler(UnknownWalkIn, _unknown_walk_in)
    app.add_exception_handler(WalkInAlreadyBooked, _already_booked)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(Exception, _bug)
