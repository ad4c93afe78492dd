"""A report from the database to its files: read the rows through the store, compute the
figures, render the HTML, write it and its PDF. For `vipctl report` and the demo."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from controller.errors import BadInput
from controller.reports.files import Written, month_stem, visit_stem, write_atomically
from controller.reports.month_figures import month_report
from controller.reports.pdf import PdfUnavailable, write_pdf
from controller.reports.period import Month
from controller.reports.render import month_html, visit_html
from controller.reports.visit_figures import visit_report
from controller.reports.words import LANGS
from controller.store.database import Database
from controller.store.report_rows import period_rows, visit_rows
from controller.store.tables import utc_now


def _check_lang(lang: str) -> None:
    if lang not in LANGS:
        raise BadInput([f"--lang: {lang!r} is not one of {', '.join(LANGS)}"])


def _write(folder: Path, stem: str, html: str) -> Written:
    html_path = folder / f"{stem}.html"
    write_atomically(html_path, html.encode())
    pdf_path = folder / f"{stem}.pdf"
    partial = folder / f".{stem}.pdf.partial"
    try:
        write_pdf(html, partial)
    except PdfUnavailable as exc:
        return Written(html_path, None, str(exc))
    partial.replace(pdf_path)
    return Written(html_path, pdf_path)


def write_visit_report(db: Database, visit_id: str, *, folder: Path, tz: ZoneInfo,
                       site_name: str, lang: str = "zh", now: datetime | None = None,
                       ) -> Written:
    _check_lang(lang)
    rows = visit_rows(db, visit_id)
    if rows is None:
        raise BadInput([f"no visit {visit_id!r} at site {db.site_id!r} "
                        "(`vipctl visit list` shows the visits)"])
    report = visit_report(rows, visit_id)
    html = visit_html(report, lang=lang, tz=tz, site_name=site_name, now=now or utc_now())
    return _write(folder, visit_stem(visit_id, lang), html)


def write_month_report(db: Database, month: Month, *, folder: Path, tz: ZoneInfo,
                       site_name: str, lang: str = "zh", all_sites: bool = False,
                       now: datetime | None = None) -> Written:
    _check_lang(lang)
    since, until = month.bounds(tz)
    rows = period_rows(db, since, until, site_id=None if all_sites else db.site_id)
    report = month_report(rows, month, tz)
    scope = (", ".join(report.sites) or "—") if all_sites else f"{site_name} ({db.site_id})"
    html = month_html(report, lang=lang, tz=tz, scope=scope, now=now or utc_now())
    return _write(folder, month_stem(str(month), lang, all_sites=all_sites), html)
