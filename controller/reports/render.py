"""The reports as HTML: Jinja2 templates (templates/), autoescaped, since guest names,
walk-ins' surnames and announcement texts are data; the charts (charts.py) inline as SVG."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from controller.reports import charts
from controller.reports.month_figures import OPEN, OUTCOMES, MonthReport
from controller.reports.visit_figures import VisitReport
from controller.reports.words import words


@cache
def _environment() -> Environment:
    return Environment(loader=PackageLoader("controller.reports", "templates"),
                       autoescape=select_autoescape(["j2"], default_for_string=True),
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def _late(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if abs(seconds) < 120:
        return f"{seconds:+.1f} s"
    return f"{seconds / 60:+.1f} min"


def _percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate:.1%}"


def _helpers(lang: str, tz: ZoneInfo, now: datetime) -> dict[str, object]:
    def when(value: datetime | None) -> str:
        return "—" if value is None else f"{value.astimezone(tz):%m-%d %H:%M:%S}"

    def day(value: datetime) -> str:
        return f"{value.astimezone(tz):%Y-%m-%d %H:%M}"

    return {"t": words(lang), "lang": lang, "when": when, "day": day, "late": _late,
            "percent": _percent,
            "generated": f"{now.astimezone(tz):%Y-%m-%d %H:%M:%S %Z}"}


def visit_html(report: VisitReport, *, lang: str, tz: ZoneInfo, site_name: str,
               now: datetime) -> str:
    return _environment().get_template("visit.html.j2").render(
        r=report, site_name=site_name, **_helpers(lang, tz, now))


def month_html(report: MonthReport, *, lang: str, tz: ZoneInfo, scope: str,
               now: datetime) -> str:
    t = words(lang)
    drawn = {"weekly": charts.weekly_chart(report, t),
             "lateness": charts.lateness_chart(report, t),
             "failures": charts.failures_chart(report, t)}
    return _environment().get_template("month.html.j2").render(
        r=report, scope=scope, charts=drawn, outcomes=(*OUTCOMES, OPEN),
        **_helpers(lang, tz, now))
