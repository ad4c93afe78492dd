"""The HTTP API: visits, triggers, devices, status and the event log, for the CLI and apps.

`make_app(daemon)` builds the FastAPI app around a running daemon; `serve_api` serves it
with uvicorn inside the daemon's own event loop (the engine is not thread-safe, and it
need not be: every route is `async def`). The daemon keeps SIGTERM and SIGINT; the server
is stopped with `ApiServer.stop()`. OpenAPI at /openapi.json, docs at /docs.

Every request but /health, the page's files and the API's description needs a credential
(controller.auth_http, then the role in controller.api_deps.authorize); the concierge page
is served at / (controller.web).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Iterator

import uvicorn
from fastapi import FastAPI

from controller import api_errors, api_say, api_site, api_visits, auth_routes, web
from controller.api_models import Health
from controller.auth import Authenticator
from controller.auth_http import AuthMiddleware
from controller.daemon import Daemon
from controller.web import buttons

log = logging.getLogger(__name__)

# Loopback only by default: a phone on the site's network needs --api-host, and then the
# credentials travel in clear unless a TLS proxy stands in front (see the README).
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
# An idle live feed sends a comment this often (seconds), so proxies keep it open.
HEARTBEAT_S = 15.0
# The largest request body: a booking is well under 2 kB; anything near this is not one.
MAX_BODY_BYTES = 64 * 1024
# How long stop() lets requests in flight finish before cutting them off (seconds).
STOP_TIMEOUT_S = 3
# How often serve_api looks whether uvicorn has started (seconds).
_START_POLL_S = 0.01


class ApiError(Exception):
    """The API server could not start (the port is taken, the address is wrong)."""


def make_app(daemon: Daemon, *, heartbeat: float = HEARTBEAT_S,
             auth: Authenticator | None = None) -> FastAPI:
    """The app for `daemon`; credentials from `auth`, by default the site file's `auth:`
    section and VIPCTL_API_TOKEN (raises controller.auth.AuthError if they are unusable)."""
    auth = auth or Authenticator.from_settings(daemon.site.auth)
    if not auth.configured:
        log.warning("no API credentials are set up: every request but /health will be "
                    "refused; see the README (auth: in the site file, or VIPCTL_API_TOKEN)")
    app = FastAPI(
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
    api_errors.install(app)
    app.add_middleware(AuthMiddleware, auth=auth)

    @app.get("/health", response_model=Health, tags=["status"])
    async def health() -> Health:
        """For monitoring: 200 while the daemon serves. No data, no authentication."""
        return Health(ok=True)

    app.include_router(api_visits.router)
    app.include_router(api_site.router)
    app.include_router(api_say.router)  # POST /say: `vipctl say`
    app.include_router(buttons.router)
    app.include_router(auth_routes.router)
    app.include_router(web.router)
    return app


class _EmbeddedServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # The daemon owns SIGTERM and SIGINT and stops the API itself.
        yield


def _listen(host: str, port: int) -> socket.socket:
    """Bind here rather than in uvicorn, which calls sys.exit() when it cannot."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
        sock = socket.socket(family, kind, proto)
    except (OSError, UnicodeError) as exc:
        raise ApiError(f"cannot listen on {host}:{port}: {exc}") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise ApiError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return sock


class ApiServer:
    """uvicorn serving the app in a task of the current loop. Stop with `await stop()`."""

    def __init__(self, app: FastAPI, sock: socket.socket) -> None:
        self.app = app
        self.host, self.port = sock.getsockname()[:2]
        config = uvicorn.Config(app, lifespan="off", log_config=None, access_log=False,
                                timeout_graceful_shutdown=STOP_TIMEOUT_S)
        self.server = _EmbeddedServer(config)
        self._sock = sock
        self.task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def _serve(self) -> None:
        try:
            await self.server.serve(sockets=[self._sock])
        except SystemExit as exc:  # uvicorn's way of failing at start-up
            raise ApiError(f"the API server failed to start (exit {exc.code})") from None

    async def start(self) -> None:
        self.task = asyncio.create_task(self._serve(), name="api:uvicorn")
        while not self.server.started:
            if self.task.done():
                self.task.result()  # raises why it ended
                raise ApiError("the API server ended before it started")
            await asyncio.sleep(_START_POLL_S)
        log.info("API on %s", self.url)

    async def stop(self) -> None:
        """End live feeds, let requests in flight finish, close the port. Idempotent."""
        self.app.state.closing.set()
        if self.task is None or self.task.done():
            self._sock.close()
            return
        self.server.should_exit = True
        try:
            await asyncio.wait_for(asyncio.shield(self.task), STOP_TIMEOUT_S + 2)
        except TimeoutError:
            self.server.force_exit = True
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        except Exception:
            log.exception("the API server failed")
        finally:
            self._sock.close()


async def serve_api(daemon: Daemon, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, *,
                    heartbeat: float = HEARTBEAT_S, auth: Authenticator | None = None,
                    ) -> ApiServer:
    """Serve the API for `daemon` on host:port (port 0: any free one, see `.port`).

    Returns once the server accepts connections; raises ApiError if it cannot."""
    app = make_app(daemon, heartbeat=heartbeat, auth=auth)
    server = ApiServer(app, _listen(host, port))
    try:
        await server.start()
    except BaseException:
        await server.stop()
        raise
    return server
