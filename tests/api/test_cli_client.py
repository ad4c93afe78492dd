"""The `vipctl` client commands against a real daemon behind a real API server.

Commands run in a worker thread (typer's CliRunner), so the daemon's loop keeps serving
while a command waits for its answer; `events --follow` and the unreachable daemon run as
the installed `vipctl` in a subprocess.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from click.testing import Result
from typer.testing import CliRunner

from controller.api.server import ApiServer
from controller.cli.client import EXIT_FAILED, EXIT_REFUSED, EXIT_UNREACHABLE
from controller.cli.main import app
from tests.api.harness import FAR, ApiSite

# The commands run in-process: their HTTP clients are closed after each test.

VIPCTL = Path(sys.executable).with_name("vipctl")
WANG = ("--surname", "王", "--honorific", "先生")
LI = ("--surname", "李", "--honorific", "女士")
WIDE = {"COLUMNS": "250"}  # rich wraps tables to the terminal; keep a row on one line


async def vipctl(server: ApiServer, *args: str) -> Result:
    runner = CliRunner()
    return await asyncio.to_thread(runner.invoke, app, [*args, "--api", server.url], env=WIDE)


def parsed(result: Result) -> Any:
    assert result.exit_code == 0, (result.exit_code, result.output, result.stderr)
    return json.loads(result.stdout)


async def test_visit_commands(site: ApiSite, server: ApiServer) -> None:
    start = site.at(FAR)
    visit = parsed(await vipctl(server, "visit", "add", *WANG, "--start",
                                start.strftime("%Y-%m-%d %H:%M"), "--duration", "90",
                                "--title", "集团副总裁", "--json"))
    assert (visit["salutation"], visit["duration"], visit["source"]) == ("王先生", 90, "cli")

    # Overlap: the reason and the next free start, and a distinct exit status.
    clash = await vipctl(server, "visit", "add", *LI, "--start", start.isoformat())
    assert clash.exit_code == EXIT_REFUSED
    assert "refused" in clash.stderr and visit["id"] in clash.stderr
    assert "next free start" in clash.stderr
    as_json = await vipctl(server, "visit", "add", *LI, "--start", start.isoformat(),
                           "--json")
    assert as_json.exit_code == EXIT_REFUSED
    assert json.loads(as_json.stdout)["collides_with"] == visit["id"]

    listed = parsed(await vipctl(server, "visit", "list", "--json"))
    assert [v["id"] for v in listed] == [visit["id"]]
    table = await vipctl(server, "visit", "list")
    assert table.exit_code == 0 and "王先生 (集团副总裁)" in table.stdout
    assert start.strftime("%Y-%m-%d %H:%M") in table.stdout  # the site's wall time

    assert parsed(await vipctl(server, "visit", "show", visit["id"], "--json")) == visit
    later = site.at(FAR + FAR)
    moved = parsed(await vipctl(server, "visit", "move", visit["id"], later.isoformat(),
                                "--json"))
    assert moved["start"] == later.isoformat()

    plan = parsed(await vipctl(server, "plan", visit["id"], "--json"))
    assert plan["cues"][0]["id"] == "p10-air-conditioning"
    shown = await vipctl(server, "plan", visit["id"])
    assert shown.exit_code == 0
    assert "start-45m" in shown.stdout and "王先生已到访,请各岗位做好接待工作" in shown.stdout
    assert "waiting for arrival" in shown.stdout and "IRHVAC" in shown.stdout

    cancelled = parsed(await vipctl(server, "visit", "cancel", visit["id"], "--reason", "改期",
                                    "--json"))
    assert cancelled["status"] == "cancelled"

    unknown = await vipctl(server, "visit", "show", "v-000000")
    assert unknown.exit_code == EXIT_FAILED and "no visit 'v-000000'" in unknown.stderr
    odd = await vipctl(server, "visit", "show", "../status")
    assert odd.exit_code == EXIT_FAILED and "no visit" in odd.stderr
    bad_date = await vipctl(server, "visit", "add", *WANG, "--start", "tomorrow")
    assert bad_date.exit_code == EXIT_FAILED and "start" in bad_date.stderr


async def test_trigger_status_and_events_commands(site: ApiSite, server: ApiServer) -> None:
    # Half an hour ahead: nothing falls due during the test (T-45 is 4.5 s before the start
    # at this speed), and a VIP now would overlap it.
    visit = parsed(await vipctl(server, "visit", "add", *WANG, "--start",
                                site.at(timedelta(minutes=30)).isoformat(), "--json"))
    arrived = parsed(await vipctl(server, "trigger", "arrival", "--visit", visit["id"], "--json"))
    assert arrived["accepted"] is True and arrived["visit_id"] == visit["id"]
    again = await vipctl(server, "trigger", "arrival")
    assert again.exit_code == EXIT_REFUSED and "already" in again.stdout
    sources = {e.source for e in site.rig.daemon.events.query(kinds=["trigger"])}
    assert sources == {"cli"}

    busy = await vipctl(server, "trigger", "vip-now", "--surname", "陈", "--honorific", "总")
    assert busy.exit_code == EXIT_REFUSED and "next free start" in busy.stderr

    status = parsed(await vipctl(server, "status", "--json"))
    assert status["current"]["id"] == visit["id"]
    shown = await vipctl(server, "status")
    assert shown.exit_code == 0
    assert "演示案场" in shown.stdout and "王先生 (arrived)" in shown.stdout

    page = parsed(await vipctl(server, "events", "--kind", "trigger", "--json"))
    assert [(e["source"], e["result"]) for e in page] == [("cli", "ok"), ("cli", "ignored")]
    table = await vipctl(server, "events", "--visit", visit["id"], "--limit", "5")
    assert table.exit_code == 0 and visit["id"] in table.stdout


async def _line(stream: asyncio.StreamReader) -> dict[str, Any]:
    async with asyncio.timeout(10):
        line = await stream.readline()
    assert line, "the stream ended"
    event: dict[str, Any] = json.loads(line)
    return event


async def test_events_follow_then_the_daemon_gone(site: ApiSite, server: ApiServer) -> None:
    old = await site.book(FAR)
    env = {**os.environ, "VIPCTL_API": server.url}
    follower = await asyncio.create_subprocess_exec(
        str(VIPCTL), "events", "--follow", "--json", "--kind", "visit", "--limit", "1",
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        assert follower.stdout is not None
        first = await _line(follower.stdout)  # the page: the newest visit event
        assert first["visit_id"] == old["id"]
        new = await site.book(FAR + FAR)
        live = await _line(follower.stdout)
        assert (live["visit_id"], live["detail"]["action"]) == (new["id"], "booked")
        # The server stops: the follower is told and ends by itself.
        await server.stop()
        async with asyncio.timeout(10):
            _, err = await follower.communicate()
        assert follower.returncode == 0
        assert b"closed the event stream" in err
    finally:
        if follower.returncode is None:
            follower.kill()
            await follower.wait()

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    gone = await asyncio.create_subprocess_exec(
        str(VIPCTL), "status", "--api", f"http://127.0.0.1:{port}",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await gone.communicate()
    assert gone.returncode == EXIT_UNREACHABLE and out == b""
    lines = err.decode().splitlines()
    assert len(lines) == 1 and "cannot reach the vipctl daemon" in lines[0]
