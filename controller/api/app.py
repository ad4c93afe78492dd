"""The FastAPI app around a running daemon: visits, triggers, devices, status, the event log,
manual announcements, signing in, and the concierge page.

Every request but /health, the page's files and the API's description needs a credential
(auth_middleware.py), then the role the route asks for (deps.py: authorize). Every route
is `async def` and runs in the daemon's own loop (server.py): the engine is not
thread-safe, and need not be. OpenAPI at /openapi.json, docs at /docs and /redoc from
packaged files (docs.py: no CDN).
"""

from __future__ import annotations

import asyncio
import logging

from fastapi import FastAPI

from controller.api import errors as api_errors
from controller.api import web
from controller.api.auth_middleware import AuthMiddleware, ScrapeToken
from controller.api.docs import documented_app
from controller.api.limits import Gate, LimitMiddleware
from controller.api.models import Health
from controller.api.routes import auth as auth_routes
from controller.api.routes import metrics as api_metrics
from controller.api.routes import reports as api_reports
from controller.api.routes import say as api_say
from controller.api.routes import site as api_site
from controller.api.routes import undo as api_undo
from controller.api.routes import visits as api_visits
from controller.api.routes import walk_ins as api_walk_ins
from controller.api.standby import ReadOnlyMiddleware
from controller.api.tls import HstsMiddleware
from controller.api.web import buttons
from controller.auth.credentials import Authenticator
from controller.daemon import Daemon

log = logging.getLogger(__name__)

# An idle live feed sends a comment this often (seconds), so proxies keep it open.
HEARTBEAT_S = 15.0
# The largest request body: a booking is well under 2 kB; anything near this is not one.
MAX_BODY_BYTES = 64 * 1024


def make_app(daemon: Daemon, *, heartbeat: float = HEARTBEAT_S,
             auth: Authenticator | None = None) -> FastAPI:
    """The app for `daemon`; credentials from `auth`, by default the site file's `auth:`
    section and VIPCTL_API_TOKEN (raises AuthError if they are unusable)."""
    auth = auth or Authenticator.from_settings(daemon.site.auth)
    if not auth.configured:
        log.warning("no API credentials are set up: every request but /health will be "
                    "refused; see the README (auth: in the site file, or VIPCTL_API_TOKEN)")
    app = documented_app(
        title="vipctl",
        version="0.1.0",
        summary="The VIP reception daemon of one sales center: visits, triggers, devices, "
                "the event log.",
        description="Times are ISO 8601; a time without an offset is in the site's timezone, "
                    "and every time given out is in the site's timezone with its offset. "
                    "Durations are minutes. Errors are JSON with `error` and `message`.",
        max_body_size=MAX_BODY_BYTES,
    )
    app.state.daemon = daemon
    app.state.closing = asyncio.Event()
    app.state.heartbeat = heartbeat
    app.state.auth = auth
    settings = daemon.site.api
    app.state.gate = Gate(settings.limits)
    api_errors.install(app)
    # Added innermost first: the limits need the principal the authentication finds; a
    # standby refuses changes only to callers who may make them.
    app.add_middleware(ReadOnlyMiddleware, daemon=daemon)
    app.add_middleware(LimitMiddleware, gate=app.state.gate)
    scrape = None if settings.metrics_token is None else ScrapeToken(settings.metrics_token)
    app.add_middleware(AuthMiddleware, auth=auth, scrape=scrape)
    if settings.hsts:
        app.add_middleware(HstsMiddleware)

    @app.get("/health", response_model=Health, tags=["status"])
    async def health() -> Health:
        """For monitoring: 200 while the daemon serves, and whether it is the site's
        active daemon or its standby. No data, no authentication."""
        return Health(ok=True, role="standby" if daemon.read_only else "active")

    app.include_router(api_visits.router)
    app.include_router(api_site.router)
    app.include_router(api_say.router)  # POST /say: `vipctl say`
    app.include_router(api_walk_ins.router)  # P1: customers without a booking
    app.include_router(api_undo.router)  # a mistaken press taken back within 30 s
    app.include_router(api_metrics.router)  # GET /metrics: Prometheus
    app.include_router(api_reports.router)  # GET /reports: controller/reports
    app.include_router(buttons.router)
    app.include_router(auth_routes.router)
    app.include_router(web.router)
    return app
