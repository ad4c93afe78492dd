"""`vipctl report visit ID` and `vipctl report month` end to end: a real visit on the test
rig (real mosquitto, the simulators, the daemon at x600), then the CLI as a user runs it,
on the database the daemon wrote; the month adds generated visits on other days around it.
The PDFs' pages are saved as PNG in tests/artifacts/reports/."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from click.testing import Result
from typer.testing import CliRunner

from controller.cli.main import app
from controller.reports.period import Month
from controller.store.database import open_database
from controller.store.visits import VisitStatus
from tests.broker import Mosquitto
from tests.reports.expected import expected_figures
from tests.reports.month_data import MonthWriter
from tests.reports.test_month_report import SITE, TZ, page_images, pdf_text
from tests.scenario.rig import SAID_FOR_WANG, site_rig
from tests.waiting import eventually

VIPCTL = Path(sys.executable).with_name("vipctl")


def vipctl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(VIPCTL), *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "COLUMNS": "200"})


async def test_a_real_visit_reported(tmp_path: Path, mosquitto: Mosquitto,
                                     topic_prefix: str) -> None:
    async with site_rig(tmp_path, mosquitto, topic_prefix) as rig:
        visit = await rig.book(start=rig.now() + timedelta(seconds=5.0))
        await eventually(lambda: len(rig.said()) >= 3, timeout=15)
        for trigger, said in (("arrival", 4), ("show_flat", 5), ("departure", 6)):
            assert (await rig.engine.trigger(trigger, source="app:concierge")).accepted
            await eventually(lambda n=said: len(rig.said()) >= n)  # type: ignore[misc]
            if trigger == "arrival":  # a second thumb: refused, and in the report with its name
                again = await rig.engine.trigger(trigger, source="button:concierge_button")
                assert not again.accepted
        await eventually(lambda: rig.daemon.book.get(visit.id).status is VisitStatus.DONE)
        await eventually(lambda: rig.daemon.announcer.idle())
    site_file = tmp_path / "site.yaml"

    done = vipctl("report", "visit", visit.id, "--config", str(site_file))
    assert done.returncode == 0, done.stderr
    folder = tmp_path / "reports"  # beside the SQLite file, as the daemon would serve it
    html = (folder / f"visit-{visit.id}.zh.html").read_text(encoding="utf-8")
    pdf = folder / f"visit-{visit.id}.zh.pdf"
    assert f"HTML: {folder / f'visit-{visit.id}.zh.html'}" in done.stdout
    assert f"PDF:  {pdf}" in done.stdout
    # Every announcement said, as said; every step with its due time, none missed.
    for text in SAID_FOR_WANG:
        assert text in html
    assert html.count(">已播出<") == len(SAID_FOR_WANG)
    for step in ("p10-air-conditioning", "p7-fountain", "hold:p2-model-area-lights-held",
                 "f1-arrival", "f13-departure"):
        assert f"<td>{step}</td>" in html
    assert "未完成" not in html and "过时跳过" not in html
    assert html.count("app:concierge") == 3 and "button:concierge_button" in html
    text = pdf_text(pdf)
    assert "VIP接待报告" in text and "王先生" in text and "请管理层及物业经理" in text
    assert page_images(pdf, "visit-zh")

    english = vipctl("report", "visit", visit.id, "--config", str(site_file), "--lang", "en",
                     "--out", str(tmp_path / "elsewhere"))
    assert english.returncode == 0, english.stderr
    assert "Steps of the procedure" in (
        tmp_path / "elsewhere" / f"visit-{visit.id}.en.html").read_text(encoding="utf-8")

    # The month around it: generated visits on its other days, this real one on its own day.
    today = visit.start.astimezone(TZ).date()
    month = Month(today.year, today.month)
    url = f"sqlite:///{tmp_path / 'vipctl.db'}"
    db = open_database(url, SITE)
    try:
        first = month.first_day()
        MonthWriter(db, TZ).month(first, (month.next().first_day() - first).days, skip={today})
    finally:
        db.close()
    monthly = vipctl("report", "month", str(month), "--config", str(site_file))
    assert monthly.returncode == 0, monthly.stderr
    print(done.stdout, monthly.stdout)
    since, until = month.bounds(TZ)
    expected = expected_figures(url, SITE, since, until)
    page = (folder / f"month-{month}.zh.html").read_text(encoding="utf-8")
    outcomes = expected["outcomes"]
    assert f"{sum(outcomes.values())} 接待" in page
    for step, (ran, on_time, missed) in expected["steps"].items():
        rate = on_time / (ran + missed)
        assert f"{rate:.1%}" in page.split(f"<tr><td>{step}</td>")[1].split("</tr>")[0], step
    confirmed, failed = expected["confirmed"], expected["failed"]
    assert f"<b>{confirmed / (confirmed + failed):.1%}</b>" in page
    assert page_images(folder / f"month-{month}.zh.pdf", "month-real-zh")


def report(*args: str) -> Result:
    """`vipctl report ARGS` in this process (the same code as the console script's)."""
    return CliRunner().invoke(app, ["report", *args])


def test_bad_requests_are_refused_with_the_reason(tmp_path: Path) -> None:
    site_file = tmp_path / "site.yaml"
    site_file.write_text((Path(__file__).parents[2] / "config" / "demo.yaml").read_text())
    for args, said in (
        (("month", "2026-13"), "there is no month 13"),
        (("month", "December"), "write it as YEAR-MONTH"),
        (("visit", "NOPE"), "no database at"),
    ):
        done = report(*args, "--config", str(site_file))
        assert done.exit_code == 2, done.output
        assert said in done.stderr
    assert not (tmp_path / "vipctl.db").exists()  # a report never makes a database
    open_database(f"sqlite:///{tmp_path / 'vipctl.db'}", SITE).close()
    done = report("visit", "NOPE", "--config", str(site_file))
    assert done.exit_code == 2
    assert "no visit 'NOPE' at site 'demo'" in done.stderr
    done = report("visit", "NOPE", "--config", str(site_file), "--lang", "fr")
    assert done.exit_code == 2 and "--lang: 'fr' is not one of zh, en" in done.stderr
    assert not (tmp_path / "reports").exists()
