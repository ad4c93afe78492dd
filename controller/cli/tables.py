"""Rich rendering of what the API returns, for a person at a terminal.

Times are shown as the daemon gives them: in the site's timezone. Data goes into cells as
`Text`, never as markup, so a name with brackets prints as it is. Rich is imported by the
functions that draw: `vipctl run` and the other commands that print no table start without it.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

DETAIL_WIDTH = 90  # characters of an event's detail shown in a table
# Columns kept on one line: times and ids read badly when broken.
_NO_WRAP = frozenset({"visit", "start", "end", "due", "point", "from", "until", "id", "at",
                      "since", "status", "kind", "device"})
# The columns that carry the substance get at least this much room; the others give way.
_MIN_WIDTH = {"does": 40, "detail": 36, "state": 24}


def when(value: str | None, *, date: bool = True) -> str:
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    return moment.strftime("%Y-%m-%d %H:%M:%S" if date else "%H:%M:%S")


def _table(*headers: str) -> Table:
    """A table whose time and id columns never wrap and whose long texts fold, not clip."""
    from rich.table import Table

    table = Table()
    for header in headers:
        if header in _NO_WRAP:
            table.add_column(header, no_wrap=True)
        else:
            table.add_column(header, overflow="fold", min_width=_MIN_WIDTH.get(header))
    return table


def _cell(value: Any) -> Text:
    from rich.text import Text

    return Text("" if value is None else str(value))


def _guest(visit: dict[str, Any]) -> str:
    extra = ", ".join(x for x in (visit.get("full_name"), visit.get("title")) if x)
    return f"{visit['salutation']} ({extra})" if extra else visit["salutation"]


def visit_detail(console: Console, visit: dict[str, Any]) -> None:
    from rich.table import Table

    table = Table(show_header=False, box=None, padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    rows = [
        ("visit", visit["id"]), ("guest", _guest(visit)),
        ("start", when(visit["start"])), ("end", when(visit["end"])),
        ("duration", f"{visit['duration']:g} min"), ("status", visit["status"]),
        ("party", visit["party_size"]), ("car plate", visit.get("car_plate")),
        ("notes", visit.get("notes")), ("cancelled because", visit.get("cancel_reason")),
        ("booked by", visit["source"]),
    ]
    for name, value in rows:
        if value not in (None, ""):
            table.add_row(name, _cell(value))
    for status, at in visit.get("entered", {}).items():
        table.add_row(f"  {status}", when(at))
    console.print(table)


def visits(console: Console, items: list[dict[str, Any]]) -> None:
    if not items:
        console.print("no visits")
        return
    table = _table("visit", "start", "end", "guest", "status", "party", "notes")
    for v in items:
        table.add_row(v["id"], when(v["start"]), when(v["end"], date=False), _cell(_guest(v)),
                      v["status"], str(v["party_size"]), _cell(v.get("notes")))
    console.print(table)


def refusal(console: Console, body: dict[str, Any]) -> None:
    from rich.text import Text

    console.print(Text(f"refused: {body.get('reason') or body.get('message')}", style="red"))
    if body.get("next_free"):
        console.print(Text(f"next free start: {when(body['next_free'])}"))


def trigger_result(console: Console, result: dict[str, Any]) -> None:
    from rich.text import Text

    style = "green" if result["accepted"] else "yellow"
    verdict = "accepted" if result["accepted"] else "not accepted"
    visit = f" [{result['visit_id']}]" if result.get("visit_id") else ""
    console.print(Text(f"{result['trigger']}: {verdict}: {result['message']}{visit}",
                       style=style))


def _does(cue: dict[str, Any]) -> Text:
    from rich.text import Text

    lines = []
    for action in cue["actions"]:
        for device in action["devices"]:
            if device.get("error"):
                lines.append(f"{device['device_id']}: cannot: {device['error']}")
            for message in device["messages"]:
                lines.append(f"{device['device_id']}: {message['topic']} {message['payload']}")
    for said in cue["announcements"]:
        who = f" ({', '.join(said['audience'])})" if said["audience"] else ""
        lines.append(f"{said['kind']}{who}: {said['text']}")
    return Text("\n".join(lines))


def _due(item: dict[str, Any], key: str = "due") -> str:
    if item.get(key):
        return when(item[key])
    return f"waiting for {item.get('waiting_for') or '?'}"


def plan(console: Console, data: dict[str, Any]) -> None:
    from rich.text import Text

    visit = data["visit"]
    console.print(Text(f"{visit['id']}  {_guest(visit)}  start {when(visit['start'])}  "
                       f"({visit['status']}, speed x{data['speed']:g})", style="bold"))
    table = _table("due", "point", "cue", "late", "does", "done")
    for cue in data["cues"]:
        table.add_row(_due(cue), cue["at"], _cell(cue["id"]), cue["late"], _does(cue),
                      _cell(cue.get("step")))
    console.print(table)
    holds = _table("from", "until", "hold", "devices", "state")
    for hold in data["holds"]:
        until = when(hold["ends"]) if hold.get("ends") else \
            f"waiting for {hold.get('waiting_for')}"
        begins = when(hold["begins"]) if hold.get("begins") else \
            f"waiting for {hold.get('waiting_for')}"
        holds.add_row(begins, until, _cell(hold["id"]), _cell(", ".join(hold["devices"])),
                      _cell(json.dumps(hold["state"], ensure_ascii=False)))
    console.print(holds)
    restore = data["restore"]
    console.print(Text(f"restore at {restore['at']}: {_due(restore)}"
                       + (f" ({restore['step']})" if restore.get("step") else "")))


def status(console: Console, data: dict[str, Any]) -> None:
    from rich.text import Text

    broker = "connected" if data["broker_connected"] else "NOT CONNECTED"
    console.print(Text(f"{data['site']}  {when(data['now'])} {data['timezone']}  "
                       f"broker {broker}", style="bold"))
    current = data.get("current")
    console.print(Text(f"now: {current['id']} {_guest(current)} ({current['status']})"
                       if current else "now: no visit under way"))
    console.print("next:")
    visits(console, data["next"])
    if data["device_problems"]:
        table = _table("device", "name", "available", "failure", "since")
        for device in data["device_problems"]:
            table.add_row(device["id"], _cell(device["name"]), _cell(device["available"]),
                          _cell(device.get("failure")), when(device.get("failed_since")))
        console.print(table)
    else:
        console.print("devices: no problems")
    if data["alerts"]:
        console.print("recent alerts:")
        events(console, data["alerts"][::-1])


def _detail(event: dict[str, Any]) -> str:
    text = json.dumps(event.get("detail") or {}, ensure_ascii=False)
    return text if len(text) <= DETAIL_WIDTH else text[: DETAIL_WIDTH - 1] + "…"


def events(console: Console, items: list[dict[str, Any]]) -> None:
    if not items:
        console.print("no events")
        return
    table = _table("id", "at", "kind", "visit", "device", "source", "result", "detail")
    for e in items:
        table.add_row(str(e["id"]), when(e["at"]), e["kind"], _cell(e.get("visit_id")),
                      _cell(e.get("device_id")), _cell(e.get("source")),
                      _cell(e.get("result")), _cell(_detail(e)))
    console.print(table)


def event_line(console: Console, event: dict[str, Any]) -> None:
    from rich.text import Text

    parts = [when(event["at"]), event["kind"], event.get("visit_id"), event.get("device_id"),
             event.get("source"), event.get("result"), _detail(event)]
    console.print(Text("  ".join(str(p) for p in parts if p)), soft_wrap=True)
