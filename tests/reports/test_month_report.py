"""The month report (品质月报) against a month of generated rows (tests/reports/month_data.py,
a fixed seed): its figures equal those computed independently from the rows
(tests/reports/expected.py), and its PDF renders; the pages are saved as PNG images in
tests/artifacts/reports/ for a person to look at."""

from __future__ import annotations

import shutil
import subprocess
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from controller.reports.make import write_month_report
from controller.reports.month_figures import MonthReport, month_report
from controller.reports.period import Month, parse_month
from controller.store.database import Database, open_database
from controller.store.report_rows import period_rows
from tests.reports.expected import expected_figures
from tests.reports.month_data import MARKUP_SURNAME, MonthWriter

TZ = ZoneInfo("Asia/Shanghai")
SITE = "demo"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "reports"


def page_images(pdf: Path, name: str) -> list[Path]:
    """The PDF's pages as PNG images under tests/artifacts/reports/ (pdftoppm, Debian's
    poppler-utils)."""
    if shutil.which("pdftoppm") is None:
        pytest.fail("pdftoppm is missing: scripts/test installs poppler-utils")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob(f"{name}-*.png"):
        old.unlink()
    subprocess.run(["pdftoppm", "-r", "70", "-png", str(pdf), str(ARTIFACTS / name)],
                   check=True, timeout=60)
    pages = sorted(ARTIFACTS.glob(f"{name}-*.png"))
    print(f"{name}: {len(pages)} page images in {ARTIFACTS}")
    return pages


def pdf_text(pdf: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, timeout=60,
                          capture_output=True, text=True).stdout


def figures_of(report: MonthReport) -> dict[str, object]:
    return {
        "outcomes": report.outcomes,
        "steps": {s.key: (s.ran, s.on_time, s.missed) for s in report.steps},
        "confirmed": report.confirmed,
        "failed": report.failed,
        "devices": [(d.device, d.failures, d.preflight_problems) for d in report.devices],
        "failed_announcements": sorted(a.text for a in report.failed_announcements),
        "callbacks": [c.walk_in_id for c in report.callbacks],
        "walk_ins": report.walk_ins,
        "preflight_runs": report.preflight_runs,
        "weeks": {str(monday): sum(by.values()) for monday, by in report.weeks
                  if sum(by.values())},
    }


def generated_month(tmp_path: Path, month: Month, skip: set[date] | None = None,
                    db: Database | None = None) -> tuple[Database, str]:
    url = f"sqlite:///{tmp_path / 'vipctl.db'}"
    db = db or open_database(url, SITE)
    first = month.first_day()
    MonthWriter(db, TZ).month(first, (month.next().first_day() - first).days, skip=skip or set())
    return db, url


def test_month_figures_equal_the_rows(tmp_path: Path) -> None:
    month = parse_month("2026-11")
    db, url = generated_month(tmp_path, month)
    try:
        since, until = month.bounds(TZ)
        report = month_report(period_rows(db, since, until, site_id=SITE), month, TZ)
        expected = expected_figures(url, SITE, since, until)
        assert figures_of(report) == expected
        # The data has what the report is for: not a month where nothing went wrong.
        assert report.outcomes["no_show"] and report.outcomes["cancelled"]
        assert any(s.on_time < s.ran for s in report.steps)
        assert any(s.missed for s in report.steps)
        assert report.failed and report.devices[0].device == "hall_lights"
        assert report.failed_announcements and report.callbacks
        assert report.preflight_with_problems
        print(f"month {month}: {report.visits} visits {report.outcomes}; confirmation "
              f"{report.confirmation_rate:.1%} ({report.confirmed}/"
              f"{report.confirmed + report.failed}); on time per step "
              + ", ".join(f"{s.key} {s.rate:.0%}" for s in report.steps if s.rate is not None)
              + f"; devices {[(d.device, d.failures) for d in report.devices[:3]]}; "
              f"failed announcements {len(report.failed_announcements)}; callbacks waiting "
              f"{[c.walk_in_id for c in report.callbacks]}")

        # Written, in Chinese and in English, as HTML and PDF.
        for lang in ("zh", "en"):
            written = write_month_report(db, month, folder=tmp_path / "reports", tz=TZ,
                                         site_name="演示案场", lang=lang)
            assert written.pdf is not None, written.pdf_problem
            html = written.html.read_text(encoding="utf-8")
            # A guest's name is data: shown, never taken as markup.
            assert MARKUP_SURNAME not in html
            assert "&lt;b&gt;赵" in html
            assert html.count("<svg") == 3  # weeks, lateness, failures
            pages = page_images(written.pdf, f"month-{month}-{lang}")
            assert pages
            text = pdf_text(written.pdf)
            title = "品质月报" if lang == "zh" else "Monthly quality report"
            assert title in text  # the Chinese is text in the PDF, in a font that has it
            assert f"{report.confirmation_rate:.1%}" in text
    finally:
        db.close()


def test_every_site_of_a_shared_database(tmp_path: Path) -> None:
    """Rows carry their site: this site's month leaves the other's out, --all-sites adds it."""
    month = parse_month("2026-10")
    url = f"sqlite:///{tmp_path / 'vipctl.db'}"
    # (Both opened before either has a visit: an SQLite file is one site's, as a rule.)
    other, db = open_database(url, "north"), open_database(url, SITE)
    generated_month(tmp_path, month, db=db)
    try:
        MonthWriter(other, TZ, seed=5).visit(
            month.bounds(TZ)[0] + timedelta(days=2, hours=12, minutes=30))
        since, until = month.bounds(TZ)
        own = month_report(period_rows(db, since, until, site_id=SITE), month, TZ)
        every = month_report(period_rows(db, since, until, site_id=None), month, TZ)
        assert own.sites == [SITE] and own.by_site == {}
        assert every.sites == ["demo", "north"]
        assert every.visits == own.visits + 1
        assert every.by_site[SITE] == own.outcomes
        assert sum(every.by_site["north"].values()) == 1
        written = write_month_report(db, month, folder=tmp_path / "reports", tz=TZ,
                                     site_name="演示案场", all_sites=True, lang="en")
        assert written.html.name == f"month-{month}-all.en.html"
        assert "north" in written.html.read_text(encoding="utf-8")
    finally:
        other.close()
        db.close()
