"""Head office's FastAPI app: the JSON API (routes.py), signing in, and the page.

The site API's pieces are used as they are: its authentication middleware and per-credential
limits, its error bodies, its sign-in routes, and the concierge page's stylesheet, words and
helpers (controller/api/web/static), to which the head-office page adds its own two files.
"""

from __future__ import annotations

import asyncio
from importlib import resources

from fastapi import APIRouter, FastAPI, HTTPException
from fastapi.responses import Response

from controller.api import errors as api_errors
from controller.api import web
from controller.api.app import MAX_BODY_BYTES
from controller.api.auth_middleware import AuthMiddleware
from controller.api.docs import documented_app
from controller.api.limits import Gate, LimitMiddleware
from controller.api.routes import auth as auth_routes
from controller.api.tls import HstsMiddleware
from controller.auth.credentials import Authenticator
from controller.hq import routes
from controller.hq.service import HeadOffice

# The head-office page's own files; the others come from the concierge page.
OWN_FILES = {"hq.html": "text/html; charset=utf-8", "hq.js": "text/javascript; charset=utf-8",
             "hq.css": "text/css; charset=utf-8"}
SHARED_FILES = ("app.css", "i18n.js", "base.js", "signin.js", "icon.svg")


def _file(name: str) -> Response:
    if name in OWN_FILES:
        data = resources.files("controller.hq").joinpath("static", name).read_bytes()
        return Response(data, media_type=OWN_FILES[name], headers=web.SECURITY_HEADERS)
    if name in SHARED_FILES:
        return web.static_file(name)
    raise HTTPException(404, "Not Found")


pages = APIRouter(include_in_schema=False)


@pages.get("/")
async def page() -> Response:
    return _file("hq.html")


@pages.get("/favicon.ico")
async def favicon() -> Response:
    return _file("icon.svg")


@pages.get("/static/{name}")
async def static(name: str) -> Response:
    return _file(name)


def _sign_in_routes() -> APIRouter:
    """The site API's own sign-in, sign-out and who-am-I (not its session list, which is
    the site's)."""
    router = APIRouter(prefix="/auth", tags=["auth"])
    wanted = {"/auth/login", "/auth/logout", "/auth/me"}
    router.routes.extend(r for r in auth_routes.router.routes if getattr(r, "path", "") in wanted)
    return router


def make_hq_app(hq: HeadOffice, *, auth: Authenticator | None = None) -> FastAPI:
    auth = auth or Authenticator.from_settings(hq.config.auth)
    app = documented_app(title="vipctl head office", version="0.1.0",
                  summary="Every site's now, all their visits, and bookings at any site.",
                  max_body_size=MAX_BODY_BYTES)
    app.state.hq = hq
    app.state.auth = auth
    app.state.closing = asyncio.Event()
    app.state.gate = Gate(hq.config.api.limits)
    api_errors.install(app)
    app.add_middleware(LimitMiddleware, gate=app.state.gate)
    app.add_middleware(AuthMiddleware, auth=auth)
    if hq.config.api.hsts:
        app.add_middleware(HstsMiddleware)

    @app.get("/health", tags=["status"])
    async def health() -> dict[str, bool]:
        """200 while head office serves; whether its ingest is connected to the broker."""
        return {"ok": True, "connected": hq.ingest.connected.is_set()}

    app.include_router(routes.router)
    app.include_router(_sign_in_routes())
    app.include_router(pages)
    return app
