"""The demo's live timeline and its closing summary, printed from the event log.

Every line carries the wall-clock time, the seconds since the demo began and the procedure
time: how far from the visit's start the event falls on the procedure's own clock (T-45:00
is the air conditioning, T+00:00 the booked arrival), scaled back up by the speed factor.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.markup import escape

from controller.store.events import Event, EventLog

# How each event kind is marked in the timeline (and its colour).
MARKS: dict[str, tuple[str, str]] = {
    "visit": ("visit", "bold"),
    "trigger": ("trigger", "bold magenta"),
    "cue": ("cue", "bold cyan"),
    "command": ("command", "blue"),
    "retry": ("retry", "yellow"),
    "confirmed": ("confirmed", "green"),
    "failed": ("FAILED", "bold red"),
    "alert": ("ALERT", "bold red"),
    "hold_reasserted": ("hold", "bold yellow"),
    "announcement": ("intercom", "bold green"),
    "media": ("media", "magenta"),
    "restore": ("restore", "bold cyan"),
    "availability": ("device", "yellow"),
    "garbage": ("garbage", "yellow"),
    "preflight": ("preflight", "bold yellow"),
    "walk_in": ("walk-in", "bold yellow"),
    "demo": ("demo", "dim"),
}
WIDTH = max(len(mark) for mark, _ in MARKS.values())


def procedure_time(at: datetime, start: datetime | None, speed: float) -> str:
    """T-45:00, T+12:30: minutes and seconds from the start on the procedure's clock."""
    if start is None:
        return " " * 7
    seconds = round((at - start).total_seconds() * speed)
    sign = "-" if seconds < 0 else "+"
    minutes, secs = divmod(abs(seconds), 60)
    return f"T{sign}{minutes:02d}:{secs:02d}"


def show_value(value: Any) -> str:
    if value is None:
        return "nothing"
    if value is True:
        return "on"
    if value is False:
        return "off"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def show_state(state: Mapping[str, Any]) -> str:
    return " ".join(f"{k}={show_value(v)}" for k, v in state.items())


def _availability(event: Event, d: Mapping[str, Any], device: str) -> str | None:
    return None if d.get("available") else f"{device} went offline"


def _visit(event: Event, d: Mapping[str, Any], device: str) -> str | None:
    return f"{d.get('action', '')} {d.get('guest', '')} ({event.visit_id})".replace("  ", " ")


def _trigger(event: Event, d: Mapping[str, Any], device: str) -> str | None:
    if event.result == "ok":
        return f"{d.get('trigger')} for {d.get('guest')}, from {event.source}"
    return f"{d.get('trigger')} from {event.source} ignored: {d.get('message')}"


def _cue(event: Event, d: Mapping[str, Any], device: str) -> str | None:
    seen = f"{d['condition']}, seen {show_value(d.get('value'))}" if "condition" in d else ""
    if event.result == "started":
        line = f"{d.get('cue')}: {d.get('description') or ''}".rstrip(": ")
        return line + (f" (when {seen})" if seen else "")
    why = d.get("message") or (f"{d['reason']}: {seen}" if "reason" in d else "")
    return f"{d.get('cue')} {event.result}" + (f" ({why})" if why else "")


def _preflight(event: Event, d: Mapping[str, Any], device: str) -> str | None:
    if event.device_id is None:
        problems = d.get("problems", 0)
        return f"{d.get('devices')} devices checked: " + (
            f"{problems} problem(s), engineering told" if problems else "all fine")
    return f"{device}: {d.get('problem')} ({d.get('text')})" if event.result == "problem" \
        else f"{device}: fixed ({d.get('text')})"


def _command(event: Event, d: Mapping[str, Any], device: str) -> str | None:
    """command, retry, confirmed, failed: of a device's state or an announcement."""
    desired = d.get("desired") or {}
    what = f"say «{desired['announce']}»" if "announce" in desired else show_state(desired)
    if event.kind == "command":
        attempt = d.get("attempt", 1)
        return f"{device} ← {what}" + (f" (attempt {attempt})" if attempt != 1 else "")
    if event.kind == "confirmed":
        how = "assumed" if d.get("assumed") else f"{d.get('elapsed_ms', 0):g} ms"
        return f"{device} reports {'played' if 'announce' in desired else what} ({how})"
    return f"{device}: {what}: {d.get('reason', '')}"


def _hold(event: Event, d: Mapping[str, Any], device: str) -> str | None:
    return (f"{device} reported {show_state(d.get('reported', {}))}: held "
            f"{show_state(d.get('held', {}))}, set back ({event.result})")


def _announcement(event: Event, d: Mapping[str, Any], device: str) -> str | None:
    if event.result == "queued":  # shown when it waits behind others; else once played
        waiting = d.get("waiting", 0)
        return f"{device} queues «{d.get('text')}» behind {waiting}" if waiting else None
    heard = "" if event.result == "played" else f" ({event.result})"
    return f"{device} says «{d.get('text')}»{heard}"


def _media(event: Event, d: Mapping[str, Any], device: str) -> str | None:
    if event.result == "recovered":
        return f"{device} plays again (after: {d.get('was')})"
    return f"{device} is not playing: {d.get('error')}; it keeps trying"


def _restore(event: Event, d: Mapping[str, Any], device: str) -> str | None:
    return f"everyday state back ({d.get('why')}): {d.get('commands')} commands"


def _walk_in(event: Event, d: Mapping[str, Any], device: str) -> str | None:
    if event.result == "recorded":
        who = f"{d.get('surname') or ''}{d.get('honorific') or ''}" or "a customer"
        during = (f"during {event.visit_id}: declined politely, kept for a callback"
                  if d.get("during_visit") else "with no VIP on site: the 客户管家 is called")
        return f"{who} came without a booking {during} (walk-in {d.get('walk_in_id')})"
    if event.result == "reminded":
        return f"the 客户管家 is told: {d.get('waiting')} callback(s) waiting"
    return f"walk-in {d.get('walk_in_id')} called back and booked as {d.get('booking')}"


def _alert(event: Event, d: Mapping[str, Any], device: str) -> str | None:
    return f"{device or d.get('step', '')}: {d.get('reason') or d.get('message')}"


_DESCRIBE: dict[str, Callable[[Event, Mapping[str, Any], str], str | None]] = {
    "availability": _availability, "visit": _visit, "trigger": _trigger, "cue": _cue,
    "command": _command, "retry": _command, "confirmed": _command, "failed": _command,
    "hold_reasserted": _hold, "announcement": _announcement, "media": _media,
    "restore": _restore, "alert": _alert, "preflight": _preflight, "walk_in": _walk_in,
}


def describe(event: Event) -> str | None:
    """One line of plain text for an event; None for what the timeline leaves out."""
    line = _DESCRIBE.get(event.kind)
    if line is None:
        return json.dumps(event.detail, ensure_ascii=False)
    return line(event, event.detail, event.device_id or "")


class Timeline:
    """Prints the demo's timeline as it happens."""

    def __init__(self, console: Console, *, tz: ZoneInfo, speed: float, began: datetime) -> None:
        self.console = console
        self.tz = tz
        self.speed = speed
        self.began = began
        self.start: datetime | None = None  # the visit's start, once booked
        self.booked: datetime | None = None  # events before it have no procedure time
        self.seen = 0  # the id of the last event through event()
        self._advanced = asyncio.Event()  # set by event(): `seen` may have moved

    def header(self) -> None:
        self.console.print(f"[dim]{'wall':<12} {'elapsed':>7}  {'proc.':<7}  "
                           f"{'what':<{WIDTH}}[/dim]", soft_wrap=True)

    def line(self, at: datetime, kind: str, text: str) -> None:
        mark, style = MARKS.get(kind, (kind, ""))
        local = at.astimezone(self.tz)
        elapsed = (at - self.began).total_seconds()
        booked = self.booked is not None and at >= self.booked
        when = procedure_time(at, self.start if booked else None, self.speed)
        marked = f"[{style}]{mark:<{WIDTH}}[/{style}]" if style else f"{mark:<{WIDTH}}"
        self.console.print(
            f"{local:%H:%M:%S}.{local.microsecond // 100_000} {elapsed:+6.1f}s  {when}  "
            f"{marked} {escape(text)}", soft_wrap=True)

    def event(self, event: Event) -> None:
        self.seen = max(self.seen, event.id)
        self._advanced.set()
        text = describe(event)
        if text is not None:
            self.line(event.at, event.kind, text)

    def note(self, at: datetime, text: str) -> None:
        self.line(at, "demo", text)

    async def caught_up(self, log: EventLog, timeout: float) -> bool:
        """Wait until every event in `log` now has come through the feed to event(), so that
        a note printed next comes after them; False after `timeout` seconds."""
        newest = log.query(limit=1)  # a read: it first writes what append_soon holds
        if not newest:
            return True
        try:
            async with asyncio.timeout(timeout):
                while self.seen < newest[0].id:
                    self._advanced.clear()
                    await self._advanced.wait()
        except TimeoutError:
            return False
        return True


def compare_states(before: Mapping[str, Mapping[str, Any]],
                   after: Mapping[str, Mapping[str, Any]],
                   why: Mapping[str, str] | None = None) -> list[str]:
    """Devices whose state differs from how the demo found them: `id attr=now (was ...)`,
    with the reason `why` knows (the baseline's description, for the music)."""
    out = []
    for device, now in after.items():
        was = before.get(device, {})
        diff = {k: v for k, v in now.items() if was.get(k) != v}
        if diff:
            earlier = {k: was.get(k) for k in diff}
            reason = (why or {}).get(device)
            out.append(f"{device} {show_state(diff)} (was {show_state(earlier)})"
                       + (f": {reason}" if reason else ""))
    return out


def summarize(events: Iterable[Event], *, said: list[str], console: Console,
              visit_status: str, spotlights: str | None = "spotlights",
              left_changed: Iterable[str] = ()) -> bool:
    """Print what ran, what was said and what failed; True when nothing failed."""
    events = list(events)
    kinds = Counter(e.kind for e in events)
    cues = [e for e in events if e.kind == "cue" and e.result != "started"]
    failures = [e for e in events if e.kind in ("failed", "alert")
                or (e.kind == "cue" and e.result == "failed")]
    console.print("\n[bold]Summary[/bold]")
    console.print(f"  visit: {visit_status}")
    ran = ", ".join(f"{e.detail.get('cue')} {e.result}" for e in cues)
    console.print(f"  cues ({len(cues)}): {ran}", soft_wrap=True)
    console.print(f"  commands: {kinds['command']} sent, {kinds['confirmed']} confirmed, "
                  f"{kinds['retry']} retried, {kinds['failed']} failed")
    held = [e.device_id or "" for e in events if e.kind == "hold_reasserted"]
    console.print(f"  holds re-asserted: {len(held)}" + (f" ({', '.join(held)})" if held else ""))
    console.print(f"  restore: {'done' if kinds['restore'] else 'NOT done'}")
    for line in left_changed:
        console.print(f"  not as before: {escape(line)}", soft_wrap=True)
    if spotlights is not None:
        touched = sum(1 for e in events if e.kind == "command" and e.device_id == spotlights)
        console.print(f"  {spotlights}: " + ("never commanded (P9)" if not touched
                                             else f"commanded {touched} times"))
    console.print(f"  said on the intercom ({len(said)}):")
    for text in said:
        console.print(f"    «{escape(text)}»", soft_wrap=True)
    if failures:
        console.print(f"  [bold red]failures ({len(failures)}):[/bold red]")
        for e in failures:
            console.print(f"    {e.kind} {escape(describe(e) or '')}", soft_wrap=True)
    else:
        console.print("  failures: none")
    return not failures and kinds["restore"] > 0
