"""How much of the daemon one credential may hold at once: requests in progress and live
feeds, per token or signed-in user, and live feeds for the whole site.

The daemon's loop also carries the button presses: a script looping requests with a
viewer token must not be able to queue enough work to delay an arrival announcement. Past
a limit the answer is 429 with Retry-After, at once, before any route runs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from starlette.types import ASGIApp, Receive, Scope, Send

from controller.api.auth_middleware import refuse
from controller.auth.credentials import Principal
from controller.config.api import Limits

STREAM_PATH = "/events/stream"
# What a refused client is told to wait (seconds): a request in progress ends within it.
RETRY_AFTER_S = 1


class Busy(Exception):
    def __init__(self, error: str, message: str) -> None:
        super().__init__(message)
        self.error = error
        self.message = message


class Gate:
    """Counts what each credential holds; `hold` refuses past the limits."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.requests: Counter[str] = Counter()
        self.streams: Counter[str] = Counter()

    @property
    def open_streams(self) -> int:
        return self.streams.total()

    @contextmanager
    def hold(self, who: str, *, stream: bool) -> Iterator[None]:
        counter = self.streams if stream else self.requests
        self._check(who, stream)
        counter[who] += 1
        try:
            yield
        finally:
            counter[who] -= 1
            if counter[who] <= 0:
                del counter[who]

    def _check(self, who: str, stream: bool) -> None:
        limits = self.limits
        if not stream:
            if self.requests[who] >= limits.requests_per_credential:
                raise Busy("too_many_requests", f"{limits.requests_per_credential} requests "
                           "of this credential are already in progress")
            return
        if self.streams[who] >= limits.streams_per_credential:
            raise Busy("too_many_streams", f"{limits.streams_per_credential} live feeds of "
                       "this credential are already open; close one")
        if self.open_streams >= limits.streams:
            raise Busy("too_many_streams", f"the site's {limits.streams} live feeds are "
                       "all open; try again later")


def credential_of(principal: Principal) -> str:
    return f"{principal.via}:{principal.name}"


class LimitMiddleware:
    """Inside AuthMiddleware: the principal is known by the time a request gets here."""

    def __init__(self, app: ASGIApp, gate: Gate) -> None:
        self.app = app
        self.gate = gate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        principal = scope.get("state", {}).get("principal") if scope["type"] == "http" else None
        if not isinstance(principal, Principal):  # public paths
            await self.app(scope, receive, send)
            return
        stream = scope["path"] == STREAM_PATH
        try:
            with self.gate.hold(credential_of(principal), stream=stream):
                await self.app(scope, receive, send)
        except Busy as busy:
            response = refuse(429, busy.error, busy.message,
                              {"Retry-After": str(RETRY_AFTER_S)})
            await response(scope, receive, send)
