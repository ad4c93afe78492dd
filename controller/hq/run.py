"""`vipctl hq` running: head office's ingest and its API until SIGTERM or SIGINT."""

from __future__ import annotations

import logging
import sys

from sqlalchemy.exc import SQLAlchemyError

from controller.api.server import ApiError, serve_app
from controller.auth.credentials import AuthError
from controller.hq.app import make_hq_app
from controller.hq.config import HqConfig
from controller.hq.service import HeadOffice
from controller.lifecycle import stop_on_signals

log = logging.getLogger(__name__)
EXIT_FAILED = 1


async def run_hq(config: HqConfig, host: str, port: int) -> int:
    """Run until a signal; the exit status (1 when the database or the API cannot be used)."""
    try:
        hq = HeadOffice(config)
    except SQLAlchemyError as exc:
        print(f"error: the database {config.database.display_url}: {exc.__class__.__name__}: "
              f"{str(exc).splitlines()[0][:300]}", file=sys.stderr)
        return EXIT_FAILED
    stop_on_signals(hq.stopping)
    async with hq:
        try:
            server = await serve_app(make_hq_app(hq), host, port, config.api)
        except (ApiError, AuthError) as exc:
            print(f"error: the HTTP API did not start on {host}:{port}: {exc}", file=sys.stderr)
            return EXIT_FAILED
        log.info("head office on %s", server.url)
        try:
            await hq.stopping.wait()
            log.info("stopping")
        finally:
            await server.stop()
    return 0
