"""The API served by uvicorn inside the daemon's own event loop (app.py builds the app).

`serve_api(daemon, host, port)` returns once the server accepts connections; the daemon
keeps SIGTERM and SIGINT, and stops the server with `ApiServer.stop()`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
from collections.abc import Iterator

import uvicorn
from fastapi import FastAPI

from controller.api.app import HEARTBEAT_S, make_app
from controller.api.defaults import DEFAULT_HOST as DEFAULT_HOST
from controller.api.defaults import DEFAULT_PORT as DEFAULT_PORT
from controller.auth.credentials import Authenticator
from controller.config.api import ApiSettings
from controller.daemon import Daemon
from controller.errors import ControllerError

log = logging.getLogger(__name__)

# DEFAULT_HOST and DEFAULT_PORT are imported `as` themselves: re-exported for the demo and
# the tests, which take them from here.

# How long stop() lets requests in flight finish before cutting them off (seconds).
STOP_TIMEOUT_S = 3


class ApiError(ControllerError):
    """The API server could not start (the port is taken, the address is wrong)."""

    def __init__(self, message: str, *, host: str | None = None, port: int | None = None,
                 ) -> None:
        super().__init__(message)
        self.host = host
        self.port = port


class _EmbeddedServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        # Set once the sockets accept connections: start() waits for it, not in turns.
        self.listening = asyncio.Event()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # The daemon owns SIGTERM and SIGINT and stops the API itself.
        yield

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            self.listening.set()


def _listen(host: str, port: int) -> socket.socket:
    """Bind here rather than in uvicorn, which calls sys.exit() when it cannot."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
        sock = socket.socket(family, kind, proto)
    except (OSError, UnicodeError) as exc:
        raise ApiError(f"cannot listen on {host}:{port}: {exc}", host=host, port=port) from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise ApiError(f"cannot listen on {host}:{port}: {exc.strerror or exc}",
                       host=host, port=port) from None
    return sock


class ApiServer:
    """uvicorn serving the app in a task of the current loop. Stop with `await stop()`."""

    def __init__(self, app: FastAPI, sock: socket.socket,
                 settings: ApiSettings | None = None) -> None:
        self.app = app
        self.host, self.port = sock.getsockname()[:2]
        settings = settings or ApiSettings()
        tls = settings.tls
        self.scheme = "http" if tls is None else "https"
        # Proxy headers only from the proxies the site file names: uvicorn's default trusts
        # any client on the host, which could then pick its own address per attempt. No
        # WebSocket route (the live feed is server-sent events): no WebSocket library loaded.
        config = uvicorn.Config(app, lifespan="off", log_config=None, access_log=False, ws="none",
                                timeout_graceful_shutdown=STOP_TIMEOUT_S,
                                proxy_headers=bool(settings.trusted_proxies),
                                forwarded_allow_ips=settings.forwarded_allow_ips,
                                ssl_certfile=None if tls is None else tls.cert,
                                ssl_keyfile=None if tls is None else tls.key)
        self.server = _EmbeddedServer(config)
        self._sock = sock
        self.task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"

    async def _serve(self) -> None:
        try:
            await self.server.serve(sockets=[self._sock])
        except SystemExit as exc:  # uvicorn's way of failing at start-up
            raise ApiError(f"the API server failed to start (exit {exc.code})") from None
        except (ssl.SSLError, OSError) as exc:  # a key that does not fit, a PEM that is not
            if not self.server.started and self.scheme == "https":
                raise ApiError(f"the TLS certificate or key cannot be used: {exc}") from None
            raise

    async def start(self) -> None:
        self.task = asyncio.create_task(self._serve(), name="api:uvicorn")
        listening = asyncio.create_task(self.server.listening.wait(), name="api:listening")
        try:
            await asyncio.wait({self.task, listening}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            listening.cancel()
        if not self.server.started:
            self.task.result()  # raises why it ended
            raise ApiError("the API server ended before it started")
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
        except Exception:  # stopping: say why it ended badly, and close the port regardless
            log.exception("the API server failed")
        finally:
            self._sock.close()


async def serve_api(daemon: Daemon, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, *,
                    heartbeat: float = HEARTBEAT_S, auth: Authenticator | None = None,
                    ) -> ApiServer:
    """Serve the API for `daemon` on host:port (port 0: any free one, see `.port`).

    Returns once the server accepts connections; raises ApiError if it cannot."""
    app = make_app(daemon, heartbeat=heartbeat, auth=auth)
    return await serve_app(app, host, port, daemon.site.api)


async def serve_app(app: FastAPI, host: str, port: int, settings: ApiSettings) -> ApiServer:
    """Serve any of vipctl's apps (the site's, head office's) on host:port; as serve_api."""
    server = ApiServer(app, _listen(host, port), settings)
    try:
        await server.start()
    except BaseException:
        await server.stop()
        raise
    return server
