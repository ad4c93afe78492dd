"""The lock a daemon holds on its SQLite database while it runs, and `vipctl restore` takes
alone: flock(2) on `<database file>.lock`, beside it.

Each daemon holds it shared, a restore exclusive: a restore is refused while a daemon runs,
and a daemon refuses to start while a restore is replacing its file. The kernel drops a
flock when its process ends, however it ends (SIGKILL, a crash), so the lock cannot outlive
its daemon the way a pid file can, and it is never stale after a reboot. A file of its own
rather than the database: SQLite locks the database with fcntl byte-range locks, which are
what flock turns into on NFS, and a restore replaces the database's file (a lock on the old
file would say nothing about the new one).
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from sqlalchemy.engine import make_url

from controller.errors import ControllerError


class DatabaseBusy(ControllerError):
    """Another process holds the database's lock: a daemon runs on it, or a restore does."""

    def __init__(self, message: str, *, database: Path) -> None:
        super().__init__(message)
        self.database = database


def sqlite_file(url: str) -> Path | None:
    """The file of an SQLite URL; None for an in-memory database or another dialect."""
    parsed = make_url(url)
    database = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or database in ("", ":memory:") \
            or database.startswith("file:"):
        return None
    return Path(database)


def lock_path(database: Path) -> Path:
    return database.with_name(database.name + ".lock")


class SqliteLock:
    """The lock of one SQLite database file, held until `release()` (or the process ends)."""

    def __init__(self, database: Path, *, exclusive: bool) -> None:
        self.database = database
        # Read-only is enough for flock: a lock file made by a restore run as root stays
        # usable by the daemon's own user.
        fd = os.open(lock_path(database), os.O_RDONLY | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            if exclusive:
                raise DatabaseBusy(
                    f"a vipctl daemon is running on {database} (it holds "
                    f"{lock_path(database).name}): stop it first", database=database) from None
            raise DatabaseBusy(f"a restore is replacing {database}: start again once it is "
                               "done", database=database) from None
        except BaseException:
            os.close(fd)
            raise
        self._fd: int | None = fd

    @classmethod
    def for_daemon(cls, url: str) -> SqliteLock | None:
        """The shared lock of the daemon on `url`; None when `url` is not an SQLite file."""
        database = sqlite_file(url)
        return None if database is None else cls(database, exclusive=False)

    def release(self) -> None:
        """Idempotent; closing the descriptor drops the lock."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)
