"""`vipctl preflight [VISIT]`: check a visit's devices now, through the daemon's API.

Without VISIT: the visit under way, else the next one. Exit status: 0 nothing wrong; 3 a
problem found (printed, and in the event log); 1 and 4 as the other client commands.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from controller.cli.client import (
    DEFAULT_API,
    EXIT_FAILED,
    EXIT_REFUSED,
    ApiOpt,
    Client,
    JsonOpt,
    visit_path,
)

if TYPE_CHECKING:
    from rich.console import Console

PROBLEM_WORDS = {"offline": "offline", "no_answer": "not answering", "unreadable": "unreadable"}


def _which(client: Client) -> str:
    status = client.call("GET", "/status")
    visit = status.get("current") or next(iter(status.get("next") or []), None)
    if visit is None:
        print("vipctl: no visit under way or booked: name one (vipctl visit list)")
        raise typer.Exit(EXIT_FAILED)
    return str(visit["id"])


def _render(console: Console, report: dict[str, Any]) -> None:
    checked, problems = report["checked"], report["problems"]
    console.print(f"{report['visit_id']}: {len(checked)} devices checked, "
                  f"{len(problems)} problem(s)")
    for p in problems:
        console.print(f"  [red]{p['device_id']}[/red] ({p['name']}): "
                      f"{PROBLEM_WORDS.get(p['problem'], p['problem'])}: {p['text']}",
                      highlight=False)
    for device_id in report["cleared"]:
        console.print(f"  [green]{device_id}[/green]: fixed since the last check")
    if report["told"]:
        console.print("  engineering was told over the intercom")


def preflight(
    visit: Annotated[str | None, typer.Argument(
        help="The visit's id; default: the current visit, else the next.")] = None,
    api: ApiOpt = DEFAULT_API,
    as_json: JsonOpt = False,
) -> None:
    """Check every device a visit uses, now, changing nothing."""
    with Client(api) as client:
        visit_id = visit or _which(client)
        report = client.call("POST", f"{visit_path(visit_id)}/preflight")
    if as_json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        from rich.console import Console

        _render(Console(), report)
    if report["problems"]:
        raise typer.Exit(EXIT_REFUSED)


def register(app: typer.Typer) -> None:
    app.command("preflight")(preflight)
