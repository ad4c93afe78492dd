"""`vipctl db upgrade` and `vipctl db rename-site`: the site's database, by hand.

`vipctl run` upgrades the schema itself at start-up; `db upgrade` does it alone, before
an upgrade of the daemon is started (after a backup), and says what it did.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from controller.cli.loading import EXIT_FAILED, ConfigOption, exit_on_bad_input, load_site_file
from controller.config.site import ID_PATTERN

# The store is imported by the commands: every other vipctl command starts without it.

db_app = typer.Typer(help="The site's database: schema upgrades.", no_args_is_help=True)


@db_app.command("upgrade")
def upgrade_command(config: ConfigOption) -> None:
    """Bring the site's database to this vipctl's schema (the daemon does it at start-up)."""
    from controller.store.database import upgrade_database
    from controller.store.schema import SchemaError

    with exit_on_bad_input():
        site = load_site_file(config)
    try:
        done = upgrade_database(site.database.url, site.site.id)
    except SchemaError as exc:
        print(f"error: the database {site.database.display_url}: {exc}", file=sys.stderr)
        raise typer.Exit(EXIT_FAILED) from None
    print(f"{site.database.display_url}: {done}")


@db_app.command("rename-site")
def rename_site_command(
    config: ConfigOption,
    old: Annotated[str, typer.Option(
        "--from", help="The id the rows carry now (e.g. 'site', before site.id was set).")],
) -> None:
    """Give the rows of site --from the site file's site.id (stop the daemon first)."""
    from controller.store.database import rename_site
    from controller.store.schema import SchemaError

    with exit_on_bad_input():
        site = load_site_file(config)
    if not ID_PATTERN.match(old):
        print(f"error: --from: {old!r} is not a site id", file=sys.stderr)
        raise typer.Exit(EXIT_FAILED)
    try:
        moved = rename_site(site.database.url, old, site.site.id)
    except SchemaError as exc:
        print(f"error: the database {site.database.display_url}: {exc}", file=sys.stderr)
        raise typer.Exit(EXIT_FAILED) from None
    rows = ", ".join(f"{table} {count}" for table, count in moved.items())
    print(f"{site.database.display_url}: site {old!r} is now {site.site.id!r} ({rows})")
