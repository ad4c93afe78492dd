"""Authentication at the door of the HTTP API: every request but the public ones needs a
valid credential before any route sees it (401 otherwise, 429 while a guesser waits).

A pure ASGI middleware rather than a route dependency alone, so that nothing (not a JSON
parse error, not an unknown path) answers a caller without a credential with more than
"sign in". The role is checked afterwards by `controller.api.deps.authorize` (403).

Public: /health, the page's own files (/ and /static/...), the API's description
(/openapi.json, /docs, /redoc and their files under /docs/assets/: no site data in them),
and POST /auth/login and /auth/logout.
"""

from __future__ import annotations

import hmac
import logging
import math
from urllib.parse import urlsplit

from pydantic import SecretStr
from starlette.datastructures import Headers
from starlette.requests import cookie_parser
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from controller.api.deps import SAFE_METHODS, SESSION_COOKIE
from controller.api.docs import ASSETS_URL, DOCS_URL, OAUTH2_REDIRECT_URL, REDOC_URL
from controller.auth.credentials import Authenticator, Principal, secret_digest
from controller.auth.settings import Role

log = logging.getLogger(__name__)

PUBLIC_PATHS = frozenset({"/health", "/", "/favicon.ico", "/openapi.json", DOCS_URL,
                          REDOC_URL, OAUTH2_REDIRECT_URL, "/auth/login", "/auth/logout"})
PUBLIC_PREFIXES = ("/static/", f"{ASSETS_URL}/")
# What a 401 tells a client to do.
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="vipctl"'}
# Prometheus's page (routes/metrics.py), and the name its own token goes by in the logs
# and the per-credential limits.
METRICS_PATH = "/metrics"
SCRAPER = "metrics-scraper"


def client_address(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


def same_origin(headers: Headers) -> bool:
    """False when a browser says the request comes from another site's page.

    SameSite=Strict already keeps the cookie off such requests in current browsers; this
    is the second lock on the door for older ones (and costs nothing)."""
    origin = headers.get("origin")
    if origin is None:  # not a browser, or a same-origin GET
        return True
    return urlsplit(origin).netloc.lower() == headers.get("host", "").lower()


def refuse(status: int, error: str, message: str,
           headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": error, "message": message}, status_code=status,
                        headers=headers)


def too_many(wait: float) -> JSONResponse:
    seconds = max(1, math.ceil(wait))
    return refuse(429, "too_many_failures",
                  f"too many failed attempts; try again in {seconds} s",
                  {"Retry-After": str(seconds)})


class ScrapeToken:
    """The site's scrape token (`api.metrics_token_env`), kept as its SHA-256 like every
    API token: it opens /metrics and nothing else."""

    def __init__(self, token: SecretStr) -> None:
        self._digest = secret_digest(token.get_secret_value())

    def check(self, path: str, presented: str) -> Principal | None:
        if path != METRICS_PATH or not hmac.compare_digest(secret_digest(presented),
                                                           self._digest):
            return None  # anywhere else the token is nobody's: a wrong token
        return Principal(SCRAPER, Role.VIEWER, "token")


class AuthMiddleware:
    def __init__(self, app: ASGIApp, auth: Authenticator,
                 scrape: ScrapeToken | None = None) -> None:
        """`scrape`: the token that opens /metrics and nothing else."""
        self.app = app
        self.auth = auth
        self.scrape = scrape

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or is_public(scope["path"]):
            await self.app(scope, receive, send)
            return
        found = self.identify(scope)
        if isinstance(found, JSONResponse):
            await found(scope, receive, send)
            return
        scope.setdefault("state", {})["principal"] = found
        await self.app(scope, receive, send)

    def identify(self, scope: Scope) -> Principal | JSONResponse:
        headers = Headers(scope=scope)
        authorization = headers.get("authorization")
        if authorization is not None:
            return self._token(scope, authorization)
        session_id = cookie_parser(headers.get("cookie", "")).get(SESSION_COOKIE)
        if session_id:
            principal = self.auth.session(session_id)
            if principal is None:
                return refuse(401, "session_expired", "the session has ended; sign in again",
                              CHALLENGE)
            if scope["method"] not in SAFE_METHODS and not same_origin(headers):
                return refuse(403, "cross_site", "a request from another site's page")
            return principal
        if not self.auth.configured:
            return refuse(401, "no_credentials_configured",
                          "no credentials are set up on this site: add an auth section to "
                          "the site file or set VIPCTL_API_TOKEN (see the README)", CHALLENGE)
        return refuse(401, "unauthenticated", "sign in, or send Authorization: Bearer <token>",
                      CHALLENGE)

    def _token(self, scope: Scope, authorization: str) -> Principal | JSONResponse:
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return refuse(401, "bad_credentials", "send Authorization: Bearer <token>",
                          CHALLENGE)
        key = f"token:{client_address(scope)}"
        wait = self.auth.throttle.wait(key)
        if wait > 0:
            return too_many(wait)
        principal = self.auth.check_token(token)
        if principal is None and self.scrape is not None:
            principal = self.scrape.check(scope["path"], token)
        if principal is None:
            self.auth.throttle.failed(key)
            # The address, never the token: a token in a log is a token given away.
            log.warning("a wrong API token from %s", client_address(scope))
            return refuse(401, "bad_credentials", "the token is not valid", CHALLENGE)
        return principal
