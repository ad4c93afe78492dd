"""Backup and restore of a site's database (`vipctl backup`, `vipctl restore`).

SQLite: the backup is made with SQLite's online backup API while the daemon writes. All the
pages are copied in one step (`pages=-1`), inside one read transaction: in WAL mode that is
one snapshot, taken without holding up the daemon's writers
(https://www.sqlite.org/backup.html). The copy is then switched to a rollback journal, so
that the backup is one self-contained file.

A restore takes the database's lock exclusively (sqlite_lock.py: refused while a daemon
runs, and no daemon starts meanwhile), copies the backup into the database's folder,
checks it there (an SQLite file, vipctl's tables at a revision this vipctl knows, this
site's rows), upgrades an older revision, keeps the replaced database aside, and only then
puts the copy in its place with a rename. Until that rename the site's database is
untouched; after it, the old one is in `<file>.before-restore-<time>`.

PostgreSQL: pg_dump is the tool; pg_dump.py builds its command.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Connection, create_engine, inspect, text
from sqlalchemy.exc import DatabaseError
from sqlalchemy.pool import NullPool

from controller.errors import ControllerError
from controller.store import schema
from controller.store.database import upgrade_database
from controller.store.sqlite_lock import SqliteLock, lock_path, sqlite_file

# How long the backup's reader waits for SQLite's locks (a checkpoint, a recovery) before
# giving up; the daemon's writers never hold them for more than milliseconds.
BUSY_TIMEOUT_S = 10.0
# The time in the names of the files a restore leaves (UTC: the same on every machine).
STAMP = "%Y%m%dT%H%M%SZ"
# What sqlite3 says of a file that is not a database (SQLITE_NOTADB).
NOT_A_DATABASE = "file is not a database"


class BackupError(ControllerError):
    """A backup that cannot be made, or a file that cannot be restored; `path` is the file."""

    def __init__(self, message: str, *, path: Path) -> None:
        super().__init__(message)
        self.path = path


@dataclass(frozen=True, slots=True)
class Contents:
    """What a vipctl database holds: its schema revision and its visits per site id."""

    revision: str
    visits: dict[str, int]
    # A database from before site ids (revision 0001): its rows become the restoring site's.
    legacy: bool = False

    def holds(self, site_id: str) -> bool:
        return self.legacy or not self.visits or site_id in self.visits

    def __str__(self) -> str:
        if self.legacy:
            count = sum(self.visits.values())
            return f"schema revision {self.revision}, {_visits(count)} of one site (no site ids)"
        sites = ", ".join(f"site {site!r} ({_visits(count)})"
                          for site, count in sorted(self.visits.items()))
        return f"schema revision {self.revision}, {sites or 'no visits'}"


@dataclass(frozen=True, slots=True)
class Restored:
    """What a restore did."""

    database: Path
    contents: Contents
    upgrade: schema.Upgrade
    aside: Path | None  # the replaced database (None: there was none)


def _visits(count: int) -> str:
    return f"{count} visit" if count == 1 else f"{count} visits"


def read_contents(conn: Connection) -> Contents:
    """The revision and sites of the database behind `conn`. Raises BackupError (with an
    empty path) when it is not a vipctl database this vipctl can use."""
    tables = set(inspect(conn).get_table_names())
    if "visits" not in tables or "schedule_lock" not in tables:
        raise BackupError("not a vipctl database (no visits and schedule_lock tables)",
                          path=Path())
    revision = schema.current(conn) or schema.BASELINE
    if revision not in schema.revisions():
        raise BackupError(f"schema revision {revision} is not one this vipctl knows (its "
                          f"newest is {schema.head()}): made by a newer vipctl", path=Path())
    if "site_id" not in {column["name"] for column in inspect(conn).get_columns("visits")}:
        count = conn.scalar(text("SELECT COUNT(*) FROM visits")) or 0
        return Contents(revision, {"": count}, legacy=True)
    visits: dict[str, int] = {
        site: 0 for site in conn.scalars(text("SELECT site_id FROM schedule_lock"))}
    rows = conn.execute(text("SELECT site_id, COUNT(*) FROM visits GROUP BY site_id"))
    visits.update({site: count for site, count in rows})
    return Contents(revision, visits)


def describe(url: str) -> Contents:
    """`read_contents` of the database at `url`, read only."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return read_contents(conn)
    finally:
        engine.dispose()


def describe_file(path: Path, *, name: Path | None = None) -> Contents:
    """The contents of an SQLite file; BackupError if it is damaged or not a vipctl
    database. `name`: the file to name in errors (the backup that `path` is a copy of)."""
    name = name or path
    _check_integrity(path, name)
    try:
        return describe(f"sqlite:///{path}")
    except DatabaseError as exc:  # "file is not a database", a truncated file
        raise BackupError(f"{name} is not an SQLite database ({exc.orig})", path=name) from None
    except BackupError as exc:
        raise BackupError(f"{name}: {exc}", path=name) from None


def backup_sqlite(url: str, target: Path) -> Contents:
    """Copy the SQLite database at `url` into the new file `target`, consistent while the
    daemon writes; what it holds. `target` appears whole or not at all."""
    database = _sqlite_path(url)
    if not database.is_file():
        raise BackupError(f"there is no database at {database}", path=database)
    if not target.parent.is_dir():
        raise BackupError(f"there is no folder {target.parent}", path=target)
    partial = target.with_name(target.name + ".partial")
    try:
        _copy(database, partial)
        contents = describe_file(partial)
        _sync(partial)
        os.replace(partial, target)
        _sync(target.parent)
    finally:
        partial.unlink(missing_ok=True)
    return contents


def restore_sqlite(url: str, site_id: str, source: Path, *, now: datetime | None = None,
                   ) -> Restored:
    """Put the backup `source` in place of site `site_id`'s SQLite database at `url`; the
    daemon must be stopped (DatabaseBusy otherwise)."""
    database = _sqlite_path(url)
    if not source.is_file():
        raise BackupError(f"there is no file {source}", path=source)
    stamp = (now or datetime.now(UTC)).astimezone(UTC).strftime(STAMP)
    lock = SqliteLock(database, exclusive=True)
    incoming = database.with_name(f"{database.name}.restoring-{stamp}")
    try:
        _copy(source, incoming)
        contents = describe_file(incoming, name=source)
        if not contents.holds(site_id):
            raise BackupError(
                f"{source} is a backup of {contents}, not of site {site_id!r}: restore it "
                "with that site's file, or restore it and then rename its site with "
                "`vipctl db rename-site`", path=source)
        upgrade = upgrade_database(f"sqlite:///{incoming}", site_id)
        aside = None
        if database.exists():
            aside = database.with_name(f"{database.name}.before-restore-{stamp}")
            _copy(database, aside)
            _keep_owner(database, incoming)
            _drop_log(database)
        _sync(incoming)
        os.replace(incoming, database)
        _sync(database.parent)
    finally:
        incoming.unlink(missing_ok=True)
        lock.release()
    return Restored(database=database, contents=contents, upgrade=upgrade, aside=aside)


def default_name(site_id: str, suffix: str, now: datetime | None = None) -> str:
    """A backup's file name when the command is given a folder."""
    stamp = (now or datetime.now(UTC)).astimezone(UTC).strftime(STAMP)
    return f"vipctl-{site_id}-{stamp}{suffix}"


def _sqlite_path(url: str) -> Path:
    database = sqlite_file(url)
    if database is None:
        raise BackupError("the database is not an SQLite file", path=Path())
    return database


def _copy(source: Path, target: Path) -> None:
    """`source` (with whatever its write-ahead log holds) into the new file `target`, by
    the online backup API; the copy keeps a rollback journal, so it is one file."""
    target.unlink(missing_ok=True)
    try:
        # mode=ro: a wrong path must not create an empty database.
        with contextlib.closing(sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True,
                                                timeout=BUSY_TIMEOUT_S)) as src, \
                contextlib.closing(sqlite3.connect(target)) as dst:
            src.backup(dst)  # pages=-1: every page in one step, one snapshot
            dst.execute("PRAGMA journal_mode=DELETE")
    except sqlite3.DatabaseError as exc:
        target.unlink(missing_ok=True)
        if str(exc) == NOT_A_DATABASE:
            raise BackupError(f"{source} is not an SQLite database", path=source) from None
        # A source that cannot be opened, a full disk: SQLite's words say which.
        raise BackupError(f"could not copy {source} to {target}: {exc}", path=source) from None


def _check_integrity(path: Path, name: Path) -> None:
    try:
        with contextlib.closing(sqlite3.connect(path)) as conn:
            found = [row[0] for row in conn.execute("PRAGMA integrity_check")]
    except sqlite3.DatabaseError as exc:  # damage in the pages the check itself needs
        found = [str(exc)]
    if found != ["ok"]:
        raise BackupError(f"{name} is damaged (SQLite's integrity check: "
                          f"{'; '.join(map(str, found[:3]))})", path=name)


def _drop_log(database: Path) -> None:
    """Checkpoint the replaced database's write-ahead log into it and remove the log and its
    index: SQLite would replay a log left beside the restored file into it. Called once the
    replaced database is copied aside, so nothing the log held is lost."""
    with contextlib.closing(sqlite3.connect(database, timeout=BUSY_TIMEOUT_S)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    for suffix in ("-wal", "-shm"):
        database.with_name(database.name + suffix).unlink(missing_ok=True)


def _keep_owner(database: Path, incoming: Path) -> None:
    """The restored file gets the replaced one's owner and mode: a restore run as root must
    not leave a file the daemon's own user cannot write."""
    st = database.stat()
    os.chmod(incoming, st.st_mode & 0o777)
    if os.geteuid() == 0:
        os.chown(incoming, st.st_uid, st.st_gid)
        with contextlib.suppress(FileNotFoundError):
            os.chown(lock_path(database), st.st_uid, st.st_gid)


def _sync(path: Path) -> None:
    """fsync a file, or a folder after a rename in it: the backup survives a power cut."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
