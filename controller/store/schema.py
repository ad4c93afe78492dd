"""The database's schema and its migrations (Alembic, controller/store/migrations/).

`upgrade()` brings any database vipctl meets to the current schema, at start-up and from
`vipctl db upgrade`:

- an empty database gets the current tables (tables.py) and is stamped with the newest
  revision, the way Alembic's documentation says to start one;
- a database made before migrations existed (the tables and no alembic_version) is
  stamped with 0001, the schema of those releases, and migrated from there;
- any other database is migrated from the revision it records.

One process migrates at a time: on PostgreSQL under an advisory lock, on SQLite inside
BEGIN IMMEDIATE. A database newer than this vipctl is refused, never touched.

Alembic takes a third of a second to import, and nearly every start finds the database
already at the newest revision: `upgrade()` first reads the recorded revision with plain
SQL, and imports Alembic only when there is something to do.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, inspect, select, text

from controller.errors import ControllerError
from controller.store.tables import Base

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")
# The revision of the schema the releases before migrations made.
BASELINE = "0001"
# pg_advisory_lock's key while migrating: any constant every vipctl agrees on ("vipc").
_PG_LOCK_KEY = 0x76697063
# Alembic's table of the revision a database is at (its default name).
VERSION_TABLE = "alembic_version"
# `revision = "0004"` and `down_revision = "0002"` (or None) in a revision file, with or
# without a type annotation (Alembic's newer template writes `revision: str = ...`).
_REVISION_LINE = re.compile(
    r"""^(down_revision|revision)\s*(?::[^=]+)?=\s*(?:["']([^"']+)["']|(None))\s*$""",
    re.MULTILINE)


class SchemaError(ControllerError):
    """The database cannot be used or upgraded by this vipctl (its schema, its rows)."""


class SiteMismatch(SchemaError):
    """A site's own SQLite file holds another site's rows (its site.id was changed)."""


@dataclass(frozen=True, slots=True)
class Upgrade:
    """What `upgrade()` did: the revision before (None: a new database) and after."""

    before: str | None
    after: str

    def __str__(self) -> str:
        if self.before is None:
            return f"created the tables at revision {self.after}"
        if self.before == self.after:
            return f"already at revision {self.after}"
        return f"upgraded from revision {self.before} to {self.after}"


def alembic_config(connection: Connection, site_id: str) -> Config:
    """Alembic's configuration for migrating on `connection` (migrations/env.py reads it)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    config.attributes["site_id"] = site_id
    return config


def head() -> str:
    """The newest revision this vipctl knows."""
    from alembic.script import ScriptDirectory

    found = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert found is not None
    return found


def revisions() -> frozenset[str]:
    """Every revision this vipctl knows, from the first to the newest."""
    from alembic.script import ScriptDirectory

    return frozenset(script.revision
                     for script in ScriptDirectory(str(MIGRATIONS)).walk_revisions())


def current(connection: Connection) -> str | None:
    """The revision a database records (None: not stamped)."""
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


@contextmanager
def _locked(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction that alone may migrate, committed on leaving.

    `engine` must begin its transactions as writers (on SQLite: BEGIN IMMEDIATE, before
    any read, which is what Database's write engine does)."""
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        if sqlite and raw is not None:
            # Off while batch mode copies tables that others refer to
            # (https://www.sqlite.org/lang_altertable.html#otheralter); only outside a
            # transaction does the pragma take effect. Checked again before the commit.
            raw.execute("PRAGMA foreign_keys=OFF")
        try:
            with conn.begin():
                if engine.dialect.name == "postgresql":
                    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                                 {"key": _PG_LOCK_KEY})
                yield conn
                if sqlite:
                    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise SchemaError(f"the migration broke foreign keys: {broken[:5]}")
        finally:
            if sqlite and raw is not None:
                raw.execute("PRAGMA foreign_keys=ON")


@cache
def head_from_files(versions: Path = MIGRATIONS / "versions") -> str | None:
    """The newest revision, read from the revision files' `revision` and `down_revision`
    lines without importing Alembic; None when they are not all that simple (a merge, a
    branch, a line written otherwise): then only Alembic may say."""
    revises: dict[str, str | None] = {}
    for path in sorted(versions.glob("*.py")):
        found: dict[str, str | None] = {}
        for match in _REVISION_LINE.finditer(path.read_text(encoding="utf-8")):
            name, value, _ = match.groups()
            if name in found:
                return None
            found[name] = value
        revision = found.get("revision")
        if revision is None or "down_revision" not in found or revision in revises:
            return None
        revises[revision] = found["down_revision"]
    heads = set(revises) - set(revises.values())
    return heads.pop() if len(heads) == 1 else None


def at_head(engine: Engine) -> str | None:
    """The newest revision if the database is already at it (one query, without the
    migration lock); None if it may need anything done (new, older, newer, unknown)."""
    newest = head_from_files()
    if newest is None:
        return None
    with engine.connect() as conn:
        if not inspect(conn).has_table(VERSION_TABLE):
            return None
        recorded = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
    return newest if recorded == [newest] else None


def upgrade(engine: Engine, site_id: str) -> Upgrade:
    """Bring the database to the newest revision; rows already there (made by a release
    with one site per database) become `site_id`'s."""
    done = at_head(engine)
    if done is not None:
        return Upgrade(done, done)
    from alembic import command

    newest = head()
    with _locked(engine) as conn:
        before = current(conn)
        tables = set(inspect(conn).get_table_names())
        config = alembic_config(conn, site_id)
        if before is None and "visits" not in tables:
            Base.metadata.create_all(conn)
            command.stamp(config, newest)
            return Upgrade(None, newest)
        if before is None:
            command.stamp(config, BASELINE)
            before = BASELINE
        if before not in revisions():
            raise SchemaError(f"the database is at schema revision {before}, which this "
                              f"vipctl does not know (its newest is {newest}): it was "
                              "upgraded by a newer vipctl; run that one, or restore a backup")
        if before != newest:
            log.info("database schema: upgrading from revision %s to %s", before, newest)
            command.upgrade(config, newest)
        return Upgrade(before, newest)


def rename_site(engine: Engine, old: str, new: str) -> dict[str, int]:
    """Give every row of site `old` the id `new` (a site file's `site.id` set or changed
    after its database was made); refused if `new` already has visits. Rows per table."""
    tables = [t for t in Base.metadata.sorted_tables if "site_id" in t.c]
    moved: dict[str, int] = {}
    with _locked(engine) as conn:
        visits = Base.metadata.tables["visits"]
        if conn.scalar(select(visits.c.id).where(visits.c.site_id == new).limit(1)):
            raise SchemaError(f"site {new!r} already has visits in this database; "
                              "two sites' rows are never merged")
        # What the site wrote under its new id without visits (its lock row, its device
        # claims) gives way to what the old id holds.
        for name in ("schedule_lock", "kv"):
            table = Base.metadata.tables[name]
            conn.execute(table.delete().where(table.c.site_id == new))
        for table in tables:
            result = conn.execute(table.update().where(table.c.site_id == old)
                                  .values(site_id=new))
            moved[table.name] = result.rowcount
    return moved
