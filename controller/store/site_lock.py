"""Which of a site's two daemons is active: the one holding the site's PostgreSQL advisory
lock (https://www.postgresql.org/docs/15/explicit-locking.html#ADVISORY-LOCKS).

The lock lives in a database session of its own, kept open while the daemon is active:
PostgreSQL releases it the moment that session ends. A SIGKILLed or crashed daemon's
session ends with its TCP connection (the kernel closes it); a machine that loses power
sends nothing, so the session asks the server to probe the idle connection every second
(TCP keepalives) and give it up after a few silent probes. The lock's server must be at
the site: across a WAN link a slow network would hand the site to the standby while the
active one still runs.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from typing import Any

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

log = logging.getLogger(__name__)

# The first key of pg_try_advisory_lock(int, int): vipctl's ("vips"); the second is the
# site id's hashtext(). Other programs on the database pick other first keys.
LOCK_CLASS = 0x76697073
# Server side: probe an idle lock session after this many seconds of silence, every
# PROBE_S, and end it after PROBES unanswered (a dead machine frees the lock in ~4 s).
IDLE_S, PROBE_S, PROBES = 2, 1, 2
# Client side: the same for the daemon (libpq's keepalives), and how long a query may
# take before the session counts as lost.
CHECK_TIMEOUT_MS = 2000


class SiteLock:
    """The site's advisory lock, taken and checked from a thread (every call blocks)."""

    def __init__(self, url: str, site_id: str) -> None:
        connect_args: dict[str, Any] = {
            "keepalives": 1, "keepalives_idle": IDLE_S, "keepalives_interval": PROBE_S,
            "keepalives_count": PROBES, "tcp_user_timeout": CHECK_TIMEOUT_MS,
            "connect_timeout": 3,
            "options": f"-c statement_timeout={CHECK_TIMEOUT_MS}",
        }
        self._engine = create_engine(url, poolclass=NullPool, connect_args=connect_args)
        self.site_id = site_id
        self._conn: Connection | None = None
        self._mutex = threading.Lock()

    @property
    def held(self) -> bool:
        return self._conn is not None

    def try_acquire(self) -> bool:
        """True if this process holds the lock now (also if it already did)."""
        with self._mutex:
            if self._conn is not None:
                return True
            try:
                conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            except DBAPIError as exc:
                log.warning("site lock: the database cannot be reached: %s", exc.orig)
                return False
            try:
                for name, value in (("tcp_keepalives_idle", IDLE_S),
                                    ("tcp_keepalives_interval", PROBE_S),
                                    ("tcp_keepalives_count", PROBES)):
                    conn.execute(text(f"SET {name} = {int(value)}"))
                got = conn.scalar(text("SELECT pg_try_advisory_lock(:cls, hashtext(:site))"),
                                  {"cls": LOCK_CLASS, "site": self.site_id})
            except DBAPIError as exc:
                log.warning("site lock: could not ask for it: %s", exc.orig)
                got = False
            if not got:
                conn.close()
                return False
            self._conn = conn
            return True

    def check(self) -> bool:
        """While held: True if the lock's session still answers (the lock is still ours);
        False, and the session dropped, if not."""
        with self._mutex:
            if self._conn is None:
                return False
            try:
                self._conn.execute(text("SELECT 1"))
                return True
            except DBAPIError as exc:
                log.error("site lock: its database session is lost: %s", exc.orig)
                self._drop()
                return False

    def release(self) -> None:
        with self._mutex:
            if self._conn is not None:
                # A session already gone took the lock with it.
                with contextlib.suppress(DBAPIError):
                    self._conn.execute(text("SELECT pg_advisory_unlock_all()"))
                self._drop()
            self._engine.dispose()

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(DBAPIError):
                conn.close()
