"""The API's own documentation, `/docs` (Swagger UI) and `/redoc` (ReDoc), from files shipped
in a package: nothing is fetched from the internet, so the docs work on a sales center's LAN
that has none, and tell no one outside that they were opened.

FastAPI's defaults load both bundles from a CDN (and ReDoc's fonts from Google);
fastapi-offline ships the bundles as package data, serves them from the app under
ASSETS_URL and turns the fonts off. Two things still reach out, and are stopped here:
Swagger UI's online validator badge (it hands the schema's address to validator.swagger.io;
`validatorUrl: null` turns it off) and ReDoc's "API docs by Redocly" logo, which ReDoc 2
always loads from Redocly's CDN with no option to stop it (Redocly/redoc#2108): the two
pages carry a Content-Security-Policy that lets them load from this server only, so the
browser never asks. The pages and their files are public, like the schema itself
(auth_middleware.py): no site data in them.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DOCS_URL = "/docs"
REDOC_URL = "/redoc"
# Swagger UI's OAuth2 redirect page (FastAPI's own path for it).
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"
# Where the Swagger UI and ReDoc bundles are served from.
ASSETS_URL = "/docs/assets"
# Swagger UI's options (its "Configuration" page): no online validator.
SWAGGER_UI_PARAMETERS: dict[str, Any] = {"validatorUrl": None}
# Only this server: FastAPI's pages start the viewers with an inline script, both viewers
# style inline, draw their icons as data: URLs, and ReDoc searches in a blob: worker.
DOCS_POLICY = ("default-src 'self'; script-src 'self' 'unsafe-inline'; "
               "style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; "
               "worker-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'; "
               "base-uri 'none'; form-action 'self'")
DOCS_HEADERS = {"Content-Security-Policy": DOCS_POLICY, "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "no-referrer"}


class DocsPolicyMiddleware:
    """Adds DOCS_HEADERS to the two docs pages (a pure ASGI middleware: the event stream
    passes untouched)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in (DOCS_URL, REDOC_URL):
            await self.app(scope, receive, send)
            return

        async def send_with_policy(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).update(DOCS_HEADERS)
            await send(message)

        await self.app(scope, receive, send_with_policy)


def documented_app(**settings: Any) -> FastAPI:
    """A FastAPI app (`settings` as FastAPI takes them) whose docs need no network."""
    app = FastAPIOffline(docs_url=DOCS_URL, redoc_url=REDOC_URL, static_url=ASSETS_URL,
                         swagger_ui_oauth2_redirect_url=OAUTH2_REDIRECT_URL,
                         swagger_ui_parameters=SWAGGER_UI_PARAMETERS, **settings)
    app.add_middleware(DocsPolicyMiddleware)
    return app
