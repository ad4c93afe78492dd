"""`vipctl say TEXT` and POST /say: a manual announcement, through the daemon's announcer."""

from __future__ import annotations

import asyncio
import json

from typer.testing import CliRunner

from controller.api.server import ApiServer
from controller.auth.settings import Role
from controller.cli.main import app
from tests.api.harness import ApiSite, bearer
from tests.waiting import eventually

# The commands run in-process: their HTTP clients are closed after each test.


async def test_vipctl_say_plays_it_and_the_log_says_so(site: ApiSite, server: ApiServer) -> None:
    result = await asyncio.to_thread(
        CliRunner().invoke, app, ["say", "请保洁到大堂", "--priority", "8", "--json",
                                  "--api", server.url])
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert answer["played"] is True and answer["intercom"] == "staff_intercom"
    assert site.rig.said() == ["请保洁到大堂"]
    log = site.rig.daemon.events.query(kinds=["announcement"], limit=10)
    assert [(e.result, e.detail["id"], e.detail["step"]) for e in reversed(log)] == [
        ("queued", answer["id"], "say:cli"), ("played", answer["id"], "say:cli")]
    assert log[0].detail["priority"] == 8


async def test_say_refuses_what_it_cannot_say(site: ApiSite) -> None:
    client = site.client
    for body, where in (({"text": ""}, "text"), ({"text": "   "}, "text"),
                        ({"text": "x", "priority": 12}, "priority"),
                        ({"text": "x", "lang": "fr"}, "lang"),
                        ({"text": "x", "intercom": "background_music"}, "intercom"),
                        ({"text": "x", "colour": "red"}, "colour")):
        response = await client.post("/say", json=body)
        assert response.status_code == 422, (body, response.text)
        assert where in response.text
    assert (await client.post("/say", json={"text": "x", "intercom": "nowhere"})).status_code \
        == 404
    # Saying something is a concierge's right, not a viewer's.
    viewer = await client.post("/say", json={"text": "x"}, headers=bearer(Role.VIEWER))
    assert viewer.status_code == 403
    assert site.rig.said() == []


async def test_say_without_waiting_answers_once_queued(site: ApiSite) -> None:
    response = await site.client.post("/say", json={"text": "测试", "wait": False})
    assert response.status_code == 200
    assert response.json()["played"] is None
    await eventually(lambda: "测试" in site.rig.said())
