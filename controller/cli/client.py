"""`vipctl visit|trigger|plan|status|events`: the running daemon, through its HTTP API.

Tables for a person (times in the site's timezone, as the daemon gives them), `--json` for
scripts. Exit status: 0 done; 1 the daemon said no (a bad request, an unknown visit);
3 a booking refused or a trigger not accepted; 4 the daemon cannot be reached.
"""

from __future__ import annotations

import json
import os
import ssl
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Any, NoReturn
from urllib.parse import quote

import typer

from controller.cli import tables as cli_tables
from controller.errors import ControllerError

if TYPE_CHECKING:
    # httpx and rich are imported when a command talks to the API and prints its answer:
    # `vipctl run` starts without them.
    import httpx
    from rich.console import Console

DEFAULT_API = "http://127.0.0.1:8765"
API_ENV = "VIPCTL_API"
# A trigger answers once the cues it runs are confirmed by the devices (retries included).
TIMEOUT_S = 60.0
EXIT_FAILED = 1
EXIT_REFUSED = 3
EXIT_UNREACHABLE = 4
# The API token the commands send, as `Authorization: Bearer`; unset: none.
TOKEN_ENV = "VIPCTL_API_TOKEN"
# A certificate (PEM) to trust for an https:// API: the site's own, from `vipctl tls-cert`.
CA_ENV = "VIPCTL_API_CA"
# Tells the daemon to record "cli" as the source of what this command books or triggers.
SOURCE_HEADER = {"X-Vipctl-Source": "cli"}

ApiOpt = Annotated[str, typer.Option("--api", envvar=API_ENV, metavar="URL",
                                     help="The daemon's API.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="JSON on stdout, for scripts.")]
Start = Annotated[str, typer.Option(
    "--start", help="ISO 8601, e.g. 2026-12-01T15:00 (no offset: the site's timezone).")]
Minutes = Annotated[int | None, typer.Option("--duration", min=1, help="Minutes.")]


def _credentials() -> dict[str, str]:
    """The API token from the environment (never an option: options show in `ps`)."""
    token = os.environ.get(TOKEN_ENV, "").strip()
    return {"Authorization": f"Bearer {token}"} if token else {}


def _verify() -> ssl.SSLContext | bool:
    """What an https:// API is checked against: the site's certificate if given, else the
    system's authorities."""
    cafile = os.environ.get(CA_ENV, "").strip()
    return ssl.create_default_context(cafile=cafile) if cafile else True


def _fail(message: str, code: int) -> NoReturn:
    print(f"vipctl: {message}", file=sys.stderr)
    raise typer.Exit(code)


class Refused(ControllerError):
    """The daemon refused a booking; `body` is its answer (the collision, the next free start)."""

    def __init__(self, body: dict[str, Any]) -> None:
        super().__init__(body.get("message", "refused"))
        self.body = body


def _answer(response: httpx.Response) -> Any:
    """The body of a success; a refused booking raised; any other error printed, exit 1."""
    try:
        body = response.json()
    except ValueError:  # e.g. the body limit's plain-text 413
        body = {"message": response.text.strip() or response.reason_phrase}
    error = body if isinstance(body, dict) else {}
    if response.status_code == 409 and error.get("error") == "booking_refused":
        raise Refused(error)
    if response.status_code == 401:
        _fail(f"{error.get('message') or 'not signed in'} (HTTP 401); set {TOKEN_ENV} to an "
              "API token of the site", EXIT_FAILED)
    if response.is_error:
        message = error.get("message") or response.reason_phrase
        _fail(f"{message} (HTTP {response.status_code})", EXIT_FAILED)
    return body


# Visits asked for at a time by `vipctl visit list` (the API's largest page).
VISIT_PAGE = 500


def request(api: str, method: str, path: str, **kwargs: Any) -> Any:
    """One call to the daemon's API (a client opened and closed for it)."""
    with Client(api) as client:
        return client.call(method, path, **kwargs)


class Client:
    """The daemon's API over HTTP; `with Client(api) as client:` closes its connections."""

    def __init__(self, api: str) -> None:
        import httpx

        self.api = api.rstrip("/")
        try:
            self.http = httpx.Client(base_url=self.api, timeout=TIMEOUT_S, verify=_verify(),
                                     headers={**SOURCE_HEADER, **_credentials()})
        except (httpx.InvalidURL, ValueError) as exc:
            _fail(f"--api {api!r} is not a usable URL: {exc}", EXIT_FAILED)
        except OSError as exc:  # the certificate in VIPCTL_API_CA cannot be read
            _fail(f"{CA_ENV}: {exc}", EXIT_FAILED)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _unreachable(self, exc: Exception) -> NoReturn:
        _fail(f"cannot reach the vipctl daemon at {self.api} ({exc or type(exc).__name__}); "
              "is `vipctl run` running?", EXIT_UNREACHABLE)

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        import httpx

        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            self._unreachable(exc)
        return _answer(response)

    def stream(self, path: str, params: dict[str, Any]) -> Iterator[dict[str, Any] | None]:
        """Server-sent events as dicts; None once, when the stream is open (subscribed)."""
        import httpx

        try:
            with self.http.stream("GET", path, params=params, timeout=httpx.Timeout(
                    TIMEOUT_S, read=None)) as response:
                if response.is_error:
                    response.read()
                    _answer(response)
                data: list[str] = []
                opened = False
                for line in response.iter_lines():
                    if line.startswith("data:"):
                        data.append(line[5:].strip())
                    elif line == "":
                        if not opened:
                            opened = True
                            yield None
                        if data:
                            yield json.loads("\n".join(data))
                            data = []
        except httpx.TransportError as exc:
            self._unreachable(exc)


def _out(data: Any, as_json: bool, render: Any) -> None:
    from rich.console import Console

    if as_json:
        print(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        render(Console(), data)


def _refused(exc: Refused, as_json: bool) -> NoReturn:
    from rich.console import Console

    if as_json:
        print(json.dumps(exc.body, ensure_ascii=False, indent=2))
    else:
        cli_tables.refusal(Console(stderr=True), exc.body)
    raise typer.Exit(EXIT_REFUSED)


# --- visit ---------------------------------------------------------------------------------

visit_app = typer.Typer(help="Book, list, show, move and cancel visits.", no_args_is_help=True)


@visit_app.command("add")
def visit_add(
    surname: Annotated[str, typer.Option(help="The guest's surname, e.g. 王.")],
    honorific: Annotated[str, typer.Option(help="先生, 女士, 小姐, or a title such as 总.")],
    start: Start,
    api: ApiOpt = DEFAULT_API,
    as_json: JsonOpt = False,
    duration: Minutes = None,
    full_name: Annotated[str | None, typer.Option(help="The full name.")] = None,
    title: Annotated[str | None, typer.Option(help="e.g. 集团副总裁.")] = None,
    party_size: Annotated[int | None, typer.Option(help="How many come.")] = None,
    car_plate: Annotated[str | None, typer.Option(help="For the guard at the gate.")] = None,
    notes: Annotated[str | None, typer.Option(help="Anything staff should know.")] = None,
) -> None:
    """Book a visit. A visit that overlaps another is refused with the next free start."""
    body: dict[str, Any] = {"surname": surname, "honorific": honorific, "start": start}
    extra = {"duration": duration, "full_name": full_name, "title": title,
             "party_size": party_size, "car_plate": car_plate, "notes": notes}
    body.update({k: v for k, v in extra.items() if v is not None})
    try:
        visit = request(api, "POST", "/visits", json=body)
    except Refused as exc:
        _refused(exc, as_json)
    _out(visit, as_json, cli_tables.visit_detail)


@visit_app.command("list")
def visit_list(
    api: ApiOpt = DEFAULT_API,
    as_json: JsonOpt = False,
    since: Annotated[str | None, typer.Option(help="Starting at or after (ISO 8601).")] = None,
    until: Annotated[str | None, typer.Option(help="Starting before (ISO 8601).")] = None,
    status: Annotated[list[str] | None, typer.Option(help="Only these (repeatable).")] = None,
) -> None:
    """Visits in order of start."""
    params: dict[str, Any] = {k: v for k, v in
                              {"since": since, "until": until, "status": status}.items() if v}
    visits: list[Any] = []
    with Client(api) as client:  # the daemon answers a page at a time
        while True:
            page = client.call("GET", "/visits", params={**params, "limit": VISIT_PAGE})
            visits.extend(page["visits"])
            if page["next_after_id"] is None:
                break
            params["after_id"] = page["next_after_id"]
    _out(visits, as_json, cli_tables.visits)


@visit_app.command("show")
def visit_show(visit_id: str, api: ApiOpt = DEFAULT_API, as_json: JsonOpt = False) -> None:
    """One visit, with the time it entered each status."""
    _out(request(api, "GET", f"/visits/{_path(visit_id)}"), as_json, cli_tables.visit_detail)


@visit_app.command("move")
def visit_move(
    visit_id: str,
    start: Annotated[str, typer.Argument(help="The new start (ISO 8601).")],
    api: ApiOpt = DEFAULT_API,
    as_json: JsonOpt = False,
    duration: Minutes = None,
) -> None:
    """Move a booked visit; its schedule follows at once."""
    body: dict[str, Any] = {"start": start}
    if duration is not None:
        body["duration"] = duration
    try:
        visit = request(api, "POST", f"/visits/{_path(visit_id)}/move", json=body)
    except Refused as exc:
        _refused(exc, as_json)
    _out(visit, as_json, cli_tables.visit_detail)


@visit_app.command("cancel")
def visit_cancel(
    visit_id: str,
    reason: Annotated[str, typer.Option("--reason", help="Why; kept with the visit.")],
    api: ApiOpt = DEFAULT_API,
    as_json: JsonOpt = False,
) -> None:
    """Cancel a visit; if its preparation ran, the site goes back to its everyday state."""
    visit = request(api, "POST", f"/visits/{_path(visit_id)}/cancel",
                             json={"reason": reason})
    _out(visit, as_json, cli_tables.visit_detail)


def _path(visit_id: str) -> str:
    from controller.api.models import is_id

    # An id is data, never URL syntax: anything not shaped like an id is no visit of ours.
    if not is_id(visit_id):
        _fail(f"no visit {visit_id[:64]!r}", EXIT_FAILED)
    return quote(visit_id, safe="")


def visit_path(visit_id: str) -> str:
    """The API path of a visit (an id not shaped like one: exit 1, nothing sent)."""
    return f"/visits/{_path(visit_id)}"


# --- trigger -------------------------------------------------------------------------------

trigger_app = typer.Typer(help="Press a trigger, as the concierge button or the app does.",
                          no_args_is_help=True)
VisitOpt = Annotated[str | None, typer.Option(
    "--visit", help="The visit it is for; by default the current (or next) one.")]


def _press(api: str, name: str, body: dict[str, Any], as_json: bool) -> None:
    try:
        result = request(api, "POST", f"/triggers/{name}", json=body)
    except Refused as exc:
        _refused(exc, as_json)
    _out(result, as_json, cli_tables.trigger_result)
    if not result.get("accepted"):
        raise typer.Exit(EXIT_REFUSED)


def _visit_trigger(name: str, doc: str) -> None:
    def command(visit: VisitOpt = None, api: ApiOpt = DEFAULT_API,
                as_json: JsonOpt = False) -> None:
        _press(api, name, {} if visit is None else {"visit_id": visit}, as_json)

    command.__doc__ = doc
    trigger_app.command(name)(command)


_visit_trigger("arrival", "The guest has arrived (F1): the whole site is told, by name.")
_visit_trigger("show-flat", "The guest goes to the show flat (F7): the butler is told.")
_visit_trigger("departure", "The guest is leaving (F13); the site is restored after.")


@trigger_app.command("vip-now")
def vip_now(
    api: ApiOpt = DEFAULT_API,
    as_json: JsonOpt = False,
    surname: Annotated[str | None, typer.Option(help="Default: 贵宾 as a whole.")] = None,
    honorific: Annotated[str | None, typer.Option(help="先生, 女士, 总...")] = None,
    title: Annotated[str | None, typer.Option()] = None,
    full_name: Annotated[str | None, typer.Option()] = None,
    party_size: Annotated[int | None, typer.Option()] = None,
    car_plate: Annotated[str | None, typer.Option()] = None,
    duration: Minutes = None,
) -> None:
    """An unbooked VIP: the preparation runs at once, then arrival is awaited."""
    given = {"surname": surname, "honorific": honorific, "title": title,
             "full_name": full_name, "party_size": party_size, "car_plate": car_plate,
             "duration": duration}
    guest = {k: v for k, v in given.items() if v is not None}
    _press(api, "vip-now", {"guest": guest} if guest else {}, as_json)


# --- plan, status, events ------------------------------------------------------------------


def plan(
    visit_id: Annotated[str, typer.Argument(metavar="VISIT", help="The visit id.")],
    api: ApiOpt = DEFAULT_API,
    as_json: JsonOpt = False,
) -> None:
    """The dry run of a visit: each cue's time, the commands it sends, what it says."""
    _out(request(api, "GET", f"/visits/{_path(visit_id)}/plan"), as_json, cli_tables.plan)


def status(api: ApiOpt = DEFAULT_API, as_json: JsonOpt = False) -> None:
    """The current visit, the next ones, devices with problems and recent alerts."""
    _out(request(api, "GET", "/status"), as_json, cli_tables.status)


def events(
    api: ApiOpt = DEFAULT_API,
    as_json: JsonOpt = False,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="How many (the newest).")] = 20,
    before: Annotated[int | None, typer.Option(help="Older than this event id.")] = None,
    visit: Annotated[str | None, typer.Option(help="Only this visit's.")] = None,
    kind: Annotated[list[str] | None, typer.Option(help="Only these kinds (repeatable).")] = None,
    device: Annotated[str | None, typer.Option(help="Only this device's.")] = None,
    since: Annotated[str | None, typer.Option(help="At or after (ISO 8601).")] = None,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Then go on, live.")] = False,
) -> None:
    """The event log, oldest of the page first; --follow goes on with events as they happen
    (with --json: one JSON object per line)."""
    filters = {"visit_id": visit, "kind": kind or None, "device_id": device}
    params = {k: v for k, v in {**filters, "limit": limit, "before_id": before,
                                "since": since}.items() if v}
    if not follow:
        page = request(api, "GET", "/events", params=params)["events"][::-1]
        _out(page, as_json, cli_tables.events)
        return
    with Client(api) as client:
        _follow(client, filters, params, as_json)


def _follow(client: Client, filters: dict[str, Any], params: dict[str, Any],
            as_json: bool) -> None:
    from rich.console import Console

    console = Console()
    seen = 0
    try:
        for event in client.stream("/events/stream", {k: v for k, v in filters.items() if v}):
            if event is None:  # subscribed: the page now, then live, without a gap
                for old in client.call("GET", "/events", params=params)["events"][::-1]:
                    seen = max(seen, old["id"])
                    _line(console, old, as_json)
            elif event["id"] > seen:
                _line(console, event, as_json)
    except KeyboardInterrupt:
        return
    print("vipctl: the daemon closed the event stream", file=sys.stderr)


def _line(console: Console, event: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(event, ensure_ascii=False), flush=True)
    else:
        cli_tables.event_line(console, event)


def register(app: typer.Typer) -> None:
    """Add the client commands to the `vipctl` command."""
    app.add_typer(visit_app, name="visit")
    app.add_typer(trigger_app, name="trigger")
    app.command("plan")(plan)
    app.command("status")(status)
    app.command("events")(events)
