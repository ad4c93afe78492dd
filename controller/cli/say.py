"""`vipctl say TEXT`: a manual announcement on the staff intercom, through the daemon's API.

Exit status: 0 played (or queued, with --no-wait); 1 not played or refused; 4 the daemon
cannot be reached (as the other client commands).
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from controller.cli.client import DEFAULT_API, EXIT_FAILED, ApiOpt, JsonOpt, request


def say(
    text: Annotated[str, typer.Argument(help="What to say, e.g. 请保洁到大堂.")],
    priority: Annotated[int, typer.Option(min=0, max=9, help="9 is the most urgent.")] = 6,
    lang: Annotated[str, typer.Option(help="zh or en.")] = "zh",
    intercom: Annotated[str | None, typer.Option(
        help="The intercom device; default: the scene's.")] = None,
    wait: Annotated[bool, typer.Option("--wait/--no-wait",
                                       help="Wait until it was played.")] = True,
    api: ApiOpt = DEFAULT_API,
    as_json: JsonOpt = False,
) -> None:
    """Say something on the intercom now (queued behind anything being said)."""
    body = {"text": text, "priority": priority, "lang": lang, "wait": wait}
    if intercom is not None:
        body["intercom"] = intercom
    answer = request(api, "POST", "/say", json=body)
    if as_json:
        print(json.dumps(answer, ensure_ascii=False))
    elif answer.get("played") is None:
        print(f"queued on {answer['intercom']} ({answer['id']})")
    elif answer["played"]:
        print(f"played on {answer['intercom']} ({answer['id']})")
    else:
        print(f"NOT played on {answer['intercom']} ({answer['id']}); see `vipctl events`")
    if answer.get("played") is False:
        raise typer.Exit(EXIT_FAILED)


def register(app: typer.Typer) -> None:
    app.command("say")(say)
