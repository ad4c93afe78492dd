"""`vipctl backup` and `vipctl restore`: the site's database, saved while the daemon runs and
put back while it is stopped (the mechanics: controller/store/backup.py)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from controller.cli.loading import EXIT_FAILED, ConfigOption, exit_on_bad_input, load_site_file

if TYPE_CHECKING:
    from controller.config.site import SiteConfig
    from controller.store.backup import Contents

# The store's backup, pg_dump and schema modules are imported by the commands themselves:
# every other vipctl command, `vipctl run` first, starts without them.


def _fail(message: str) -> typer.Exit:
    print(f"error: {message}", file=sys.stderr)
    return typer.Exit(EXIT_FAILED)


def _is_postgres(site: SiteConfig) -> bool:
    from sqlalchemy.engine import make_url

    return make_url(site.database.url).get_backend_name() == "postgresql"


def _shared_note(contents: Contents, site_id: str) -> str | None:
    others = sorted(set(contents.visits) - {site_id})
    if contents.legacy or not others:
        return None
    return (f"note: the database is shared, so the backup holds every site's rows, not only "
            f"{site_id!r}'s: {contents}")


def backup(
    path: Annotated[Path, typer.Argument(
        help="The backup file to write; a folder: a file named for the site and time in it.")],
    config: ConfigOption,
    overwrite: Annotated[bool, typer.Option(help="Replace PATH if it exists.")] = False,
) -> None:
    """Back up the site's database; safe while the daemon runs."""
    from controller.store.backup import BackupError, backup_sqlite, default_name

    with exit_on_bad_input():
        site = load_site_file(config)
    postgres = _is_postgres(site)
    target = path
    if path.is_dir():
        target = path / default_name(site.site.id, ".dump" if postgres else ".db")
    if target.exists() and not overwrite:
        raise _fail(f"{target} exists: give another name, or --overwrite")
    if postgres:
        _backup_postgres(site, target)
        return
    try:
        contents = backup_sqlite(site.database.url, target)
    except BackupError as exc:
        raise _fail(str(exc)) from None
    size = target.stat().st_size
    print(f"backed up {site.database.display_url} to {target} ({size} bytes): {contents}")
    if note := _shared_note(contents, site.site.id):
        print(note)


def _backup_postgres(site: SiteConfig, target: Path) -> None:
    from sqlalchemy.exc import DBAPIError

    from controller.store.backup import BackupError, describe
    from controller.store.pg_dump import pg_dump, pg_restore

    command = pg_dump(site.database.url, target)
    print("PostgreSQL: the backup is pg_dump's, of the whole database.")
    try:
        contents = describe(site.database.url)
    except (DBAPIError, BackupError) as exc:
        reason = exc.orig if isinstance(exc, DBAPIError) else exc
        print(f"error: the database {site.database.display_url}: {reason}", file=sys.stderr)
        print(f"the command, once it can be reached: {command}", file=sys.stderr)
        raise typer.Exit(EXIT_FAILED) from None
    if note := _shared_note(contents, site.site.id):
        print(note)
    if not command.installed:
        print(f"pg_dump is not installed here (Debian: apt-get install postgresql-client, of "
              f"the server's major version or newer). Run, with the password in PGPASSWORD "
              f"if the URL has one:\n  {command}", file=sys.stderr)
        raise typer.Exit(EXIT_FAILED)
    print(f"running: {command}")
    existed = target.exists()
    if command.run(dict(os.environ)) != 0:
        if not existed:
            target.unlink(missing_ok=True)
        raise _fail("pg_dump failed (its message is above); no backup was written")
    print(f"backed up {site.database.display_url} to {target} ({target.stat().st_size} bytes): "
          f"{contents}")
    print(f"to restore it, every daemon on that database stopped: "
          f"{pg_restore(site.database.url, target)}")


def restore(
    path: Annotated[Path, typer.Argument(help="A backup made by `vipctl backup`.")],
    config: ConfigOption,
) -> None:
    """Put a backup in place of the site's database (the daemon stopped); the database it
    replaces is kept beside it."""
    from controller.store.backup import BackupError, restore_sqlite
    from controller.store.pg_dump import pg_restore
    from controller.store.schema import SchemaError
    from controller.store.sqlite_lock import DatabaseBusy

    with exit_on_bad_input():
        site = load_site_file(config)
    if _is_postgres(site):
        print("error: vipctl restore puts back an SQLite file. A PostgreSQL database is "
              "restored from its pg_dump with pg_restore, every daemon on it stopped first "
              "(the dump holds every site sharing the database, and pg_restore replaces "
              f"them all):\n  {pg_restore(site.database.url, path)}", file=sys.stderr)
        raise typer.Exit(EXIT_FAILED)
    try:
        done = restore_sqlite(site.database.url, site.site.id, path)
    except (BackupError, DatabaseBusy, SchemaError) as exc:
        raise _fail(f"{exc}; nothing was changed") from None
    print(f"restored {path} into {done.database}: {done.contents}")
    if done.upgrade.before != done.upgrade.after:
        print(f"schema {done.upgrade}")
    if done.aside is not None:
        print(f"the database it replaced is kept as {done.aside}")
    print("start the daemon: it carries on from the backup's state (the steps done before "
          "the backup are not done again)")


def register(app: typer.Typer) -> None:
    app.command("backup")(backup)
    app.command("restore")(restore)
