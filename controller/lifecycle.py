"""What every long-running command shares (`vipctl run`, `demo`, `simulate`, `agent`):
logging set up once, and SIGTERM/SIGINT turned into an orderly stop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys

LOG_LEVELS = ("debug", "info", "warning", "error")
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def stop_on_signals(stop: asyncio.Event) -> None:
    """SIGTERM and SIGINT (Ctrl-C) set `stop`: the caller shuts down in order."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):  # not on Windows' proactor loop
            loop.add_signal_handler(sig, stop.set)


def configure_logging(level: str) -> None:
    logging.basicConfig(level=level.upper(), format=LOG_FORMAT, stream=sys.stderr)
    # APScheduler says at INFO every job added, removed, run and finished: four lines a
    # cue, formatted on the event loop as it fires. The event log says what ran and why.
    # Alembic names its SQL dialect at INFO on every start; controller/store/schema.py
    # says what an upgrade did.
    if logging.getLogger().level == logging.INFO:
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
        logging.getLogger("alembic").setLevel(logging.WARNING)
