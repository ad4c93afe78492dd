"""`vipctl report visit ID` and `vipctl report month 2026-12`: the quality department's
reports, HTML and PDF, from the site's database (controller/reports; docs/reports.md).

They read the database directly, daemon running or not, and write into the site's reports
folder (the one the daemon's API serves) unless given `--out`.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.engine import make_url

from controller.cli.loading import EXIT_FAILED, ConfigOption, exit_on_bad_input, load_site_file
from controller.config.site import SiteConfig
from controller.errors import BadInput
from controller.reports.files import Written
from controller.reports.period import parse_month
from controller.store.database import Database, open_database

report_app = typer.Typer(help="The quality department's reports (品质月报): HTML and PDF.",
                         no_args_is_help=True)

OutOption = Annotated[Path | None, typer.Option(
    "--out", help="The folder to write into (default: the site's reports folder).")]
LangOption = Annotated[str, typer.Option(
    "--lang", help="zh (Chinese, the default) or en (English).")]


def _database(site: SiteConfig) -> Database:
    url = make_url(site.database.url)
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).exists():
        # open_database would make an empty one: a report of nothing, and a stray file.
        raise BadInput([f"no database at {url.database}: is this the site's file, and has "
                        "`vipctl run` started there once?"])
    return open_database(site.database.url, site.site.id)


def _run(config: Path, out: Path | None,
         make: Callable[[Database, SiteConfig, Path], Written]) -> None:
    began = time.monotonic()
    with exit_on_bad_input():
        site = load_site_file(config, require_env=False)
        db = _database(site)
        try:
            folder = out or site.reports.folder
            assert folder is not None  # filled in when the site file is loaded
            written = make(db, site, folder)
        finally:
            db.close()
    print(f"HTML: {written.html}")
    if written.pdf is not None:
        print(f"PDF:  {written.pdf}")
    print(f"({time.monotonic() - began:.1f} s)")
    if written.pdf_problem:
        print(f"error: {written.pdf_problem}", file=sys.stderr)
        raise typer.Exit(EXIT_FAILED)


@report_app.command("visit")
def visit(
    visit_id: Annotated[str, typer.Argument(help="The visit's id (`vipctl visit list`).")],
    config: ConfigOption,
    out: OutOption = None,
    lang: LangOption = "zh",
) -> None:
    """One visit: every cue and hold with its due time, when it was done and how late, every
    announcement, every press and who made it, walk-ins during it, the preflight."""
    # Here, not at the top: matplotlib and Jinja2 take a second to import, and only a
    # report needs them, not every vipctl command.
    from controller.reports.make import write_visit_report

    _run(config, out, lambda db, site, folder: write_visit_report(
        db, visit_id, folder=folder, tz=site.site.tz, site_name=site.site.name, lang=lang))


@report_app.command("month")
def month(
    which: Annotated[str, typer.Argument(metavar="YEAR-MONTH", help="e.g. 2026-12")],
    config: ConfigOption,
    out: OutOption = None,
    lang: LangOption = "zh",
    all_sites: Annotated[bool, typer.Option(
        "--all-sites", help="Every site of a shared database, not only this one.")] = False,
) -> None:
    """One month: visits by outcome, on-time rate per step, confirmation rate, devices by
    failures, failed announcements, callbacks waiting, with charts."""
    from controller.reports.make import write_month_report

    with exit_on_bad_input():
        period = parse_month(which)
    _run(config, out, lambda db, site, folder: write_month_report(
        db, period, folder=folder, tz=site.site.tz, site_name=site.site.name, lang=lang,
        all_sites=all_sites))
