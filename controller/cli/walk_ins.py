"""`vipctl walk-ins`: the customers who came without a booking (P1), and their callbacks
booked, through the daemon's API. Exit status as the other client commands (3: a booking
refused, with the reason and the next free start)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from controller.cli.client import DEFAULT_API, ApiOpt, JsonOpt, Refused, _out, _refused, request

if TYPE_CHECKING:
    from rich.console import Console


def walk_ins(
    book: Annotated[int | None, typer.Option(
        "--book", metavar="ID", help="Book this callback (its preferred time, or --start).",
    )] = None,
    start: Annotated[str | None, typer.Option(
        help="With --book: the start, ISO 8601 (no offset: the site's timezone).")] = None,
    show_all: Annotated[bool, typer.Option(
        "--all", help="Every walk-in, not only the callbacks waiting.")] = False,
    api: ApiOpt = DEFAULT_API,
    as_json: JsonOpt = False,
) -> None:
    """The callbacks waiting (a customer who came during a VIP visit), or book one."""
    if book is not None:
        try:
            booked = request(api, "POST", f"/walk-ins/{book}/book",
                             json={} if start is None else {"start": start})
        except Refused as exc:
            _refused(exc, as_json)
        _out(booked, as_json, _booked)
        return
    query = "" if show_all else "?status=waiting"
    _out(request(api, "GET", f"/walk-ins{query}"), as_json, _table)


def _booked(console: Console, answer: dict[str, Any]) -> None:
    visit = answer["visit"]
    console.print(f"walk-in {answer['walk_in']['id']} booked: {visit['id']} "
                  f"{visit['salutation']} {visit['start'][:16].replace('T', ' ')}")


def _table(console: Console, answer: dict[str, Any]) -> None:
    from rich.table import Table

    table = Table("id", "came", "who", "phone", "prefers", "status", "during")
    for w in answer["walk_ins"]:
        table.add_row(str(w["id"]), w["at"][:16].replace("T", " "), w["salutation"],
                      w["phone"] or "", (w["preferred"] or "")[:16].replace("T", " "),
                      w["status"] if not w["booking"] else f"booked {w['booking']}",
                      w["visit_id"] or "")
    console.print(table)
    console.print(f"{answer['waiting']} callback(s) waiting")


def register(app: typer.Typer) -> None:
    app.command("walk-ins")(walk_ins)
