"""The concierge page: plain HTML, CSS and JavaScript shipped in the package, served at `/`.

No build step, no CDN, nothing from the network but the daemon: the site box may be offline.
The files are public (they hold no site data; everything else needs the session the page
signs in for). Each response forbids other origins' scripts, framing and sniffing.
"""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter, HTTPException
from fastapi.responses import Response

# The page's files and their types; nothing else is served from the folder.
FILES = {
    "index.html": "text/html; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
    "i18n.js": "text/javascript; charset=utf-8",
    "base.js": "text/javascript; charset=utf-8",
    "signin.js": "text/javascript; charset=utf-8",
    "live.js": "text/javascript; charset=utf-8",
    "draw.js": "text/javascript; charset=utf-8",
    "preflight.js": "text/javascript; charset=utf-8",
    "walkins.js": "text/javascript; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "icon.svg": "image/svg+xml",
}
# Only the daemon itself may provide scripts, styles and data to the page.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; "
                               "img-src 'self' data:; connect-src 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    # The page changes with vipctl; a phone must not keep an old one.
    "Cache-Control": "no-cache",
}

router = APIRouter(include_in_schema=False)


def _read(name: str) -> bytes:
    return resources.files("controller.api.web").joinpath("static", name).read_bytes()


def static_file(name: str) -> Response:
    """One of the page's files (404 for any other name), with the security headers."""
    if name not in FILES:
        raise HTTPException(404, "Not Found")
    return Response(_read(name), media_type=FILES[name], headers=SECURITY_HEADERS)


@router.get("/")
async def page() -> Response:
    return static_file("index.html")


@router.get("/favicon.ico")
async def favicon() -> Response:
    return static_file("icon.svg")


@router.get("/static/{name}")
async def static(name: str) -> Response:
    return static_file(name)
