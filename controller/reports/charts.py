"""The month's charts as SVG text, for the HTML and through it the PDF: lateness per step,
failures per device, visits per week.

matplotlib's object API (Figure, no pyplot: no global state, no GUI backend). Text is drawn
as paths (svg.fonttype "path", matplotlib's default), so the SVG needs no font where it is
shown; the Chinese is drawn with WenQuanYi Zen Hei (Debian's fonts-wqy-zenhei) when it is
installed, DejaVu Sans (matplotlib's own) for the rest.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from functools import cache

from matplotlib import font_manager, rc_context
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from controller.reports.month_figures import OPEN, OUTCOMES, MonthReport

CJK_FONT = "WenQuanYi Zen Hei"
SIZE_IN = (7.0, 3.0)  # inches: fits an A4 page's width with margins
# Colours of the outcomes (done, no-show, cancelled, open) and of bars.
COLOURS = {"done": "#2e7d32", "no_show": "#c62828", "cancelled": "#9e9e9e", OPEN: "#1565c0"}
BAR, BAR_MAX, PREFLIGHT = "#1565c0", "#90caf9", "#ffb74d"


@cache
def fonts() -> list[str]:
    """The font families to draw with, the CJK one first if this machine has it (asking
    for a missing one makes matplotlib complain on every chart)."""
    try:
        font_manager.findfont(CJK_FONT, fallback_to_default=False)
    except ValueError:
        return ["DejaVu Sans"]
    return [CJK_FONT, "DejaVu Sans"]


def _svg(draw: Callable[[Figure], None]) -> str:
    """`draw` on a new figure, as inline SVG (no XML prolog)."""
    with rc_context({"font.family": fonts(), "svg.fonttype": "path",
                     "axes.spines.top": False, "axes.spines.right": False,
                     "legend.frameon": False}):
        figure = Figure(figsize=SIZE_IN, layout="constrained")
        draw(figure)
        out = io.StringIO()
        figure.savefig(out, format="svg", metadata={"Date": None})  # same data, same file
    text = out.getvalue()
    return text[text.index("<svg"):]


def lateness_chart(report: MonthReport, t: Callable[[str], str]) -> str | None:
    steps = [s for s in report.steps if s.late_s]
    if not steps:
        return None

    def draw(figure: Figure) -> None:
        ax = figure.add_subplot()
        names = [s.key for s in steps]
        ax.barh(names, [s.max_late_s for s in steps], color=BAR_MAX, label=t("max_late"))
        ax.barh(names, [s.mean_late_s for s in steps], color=BAR, label=t("mean_late"))
        ax.invert_yaxis()
        ax.set_title(t("lateness_chart"))
        figure.legend(loc="outside lower center", ncols=4)

    return _svg(draw)


def failures_chart(report: MonthReport, t: Callable[[str], str]) -> str | None:
    ranked = [d for d in report.devices if d.failures or d.preflight_problems]
    if not ranked:
        return None

    def draw(figure: Figure) -> None:
        ax = figure.add_subplot()
        names = [d.device for d in ranked]
        failures = [d.failures for d in ranked]
        ax.barh(names, failures, color=COLOURS["no_show"], label=t("failures"))
        ax.barh(names, [d.preflight_problems for d in ranked], left=failures,
                color=PREFLIGHT, label=t("preflight_problems"))
        ax.invert_yaxis()
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(t("failures_chart"))
        figure.legend(loc="outside lower center", ncols=4)

    return _svg(draw)


def weekly_chart(report: MonthReport, t: Callable[[str], str]) -> str:

    def draw(figure: Figure) -> None:
        ax = figure.add_subplot()
        labels = [f"{monday:%m-%d}" for monday, _ in report.weeks]
        bottom: Sequence[int] = [0] * len(labels)
        for outcome in (*OUTCOMES, OPEN):
            counts = [by[outcome] for _, by in report.weeks]
            ax.bar(labels, counts, bottom=bottom, color=COLOURS[outcome], label=t(outcome))
            bottom = [a + b for a, b in zip(bottom, counts, strict=True)]
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(t("weekly"))
        ax.set_xlabel(t("week_of"))
        figure.legend(loc="outside lower center", ncols=4)

    return _svg(draw)
