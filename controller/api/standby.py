"""The API of a standby daemon (controller/standby.py): it reads, it never writes.

Every request that would change something (a booking, a press, an announcement) gets 503
with Retry-After, at once: the active daemon takes it, and the standby may take over
within seconds. Signing in and out stays open, so that the page still shows the site.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from controller.api.auth_middleware import refuse
from controller.daemon import Daemon

# Methods that only read, and the paths that write but belong to the caller (sessions).
READS = frozenset({"GET", "HEAD", "OPTIONS"})
OWN_PATHS = ("/auth/",)
RETRY_AFTER_S = 1


class ReadOnlyMiddleware:
    def __init__(self, app: ASGIApp, daemon: Daemon) -> None:
        self.app = app
        self.daemon = daemon

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] == "http" and self.daemon.read_only
                and scope["method"] not in READS and not scope["path"].startswith(OWN_PATHS)):
            response = refuse(503, "standby",
                              f"this vipctl is the standby of site {self.daemon.site.site.id}: "
                              "the active one takes changes; try again in a moment",
                              {"Retry-After": str(RETRY_AFTER_S)})
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
