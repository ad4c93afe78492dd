"""Where the API listens unless told otherwise: here rather than in server.py, so that
`vipctl run` reads its option defaults without importing FastAPI and uvicorn."""

from __future__ import annotations

# Loopback only by default: a phone on the site's network needs --api-host, and then the
# credentials travel in clear unless the site file's `api: tls:` is set (or a TLS proxy
# stands in front; see the README).
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
