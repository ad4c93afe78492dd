"""The live feed after a reconnect (SSE's Last-Event-ID): what happened while the client
was away comes first, from the database, then the live feed, every event once and in order,
with nothing lost at the seam. A real uvicorn server and a real streaming client."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx

from controller.store.events import EventLog
from tests.api.harness import ADMIN, ApiSite, served
from tests.api.test_api_server import _frames


async def _events(frames: AsyncIterator[list[str]], count: int) -> list[dict[str, Any]]:
    """The next `count` events of the stream (heartbeats and comments skipped)."""
    out: list[dict[str, Any]] = []
    async with asyncio.timeout(10):
        while len(out) < count:
            frame = [line for line in await anext(frames) if not line.startswith(":")]
            fields = dict(line.split(": ", 1) for line in frame if ": " in line)
            if "data" in fields:
                event = json.loads(fields["data"])
                assert fields["id"] == str(event["id"])
                out.append(event)
    return out


def _alerts(log: EventLog, names: list[str], *, soon: bool = False) -> None:
    for name in names:
        if soon:  # written a moment later, with the others (the hot path's way)
            log.append_soon("alert", detail={"message": name}, result="failed")
        else:
            log.append("alert", detail={"message": name}, result="failed")


async def test_a_reconnect_with_last_event_id_gets_every_missed_event_once(
        site: ApiSite) -> None:
    log = site.rig.daemon.events
    params = {"kind": "alert"}
    async with served(site) as server, \
            httpx.AsyncClient(base_url=server.url, timeout=5, headers=ADMIN) as http:
        async with http.stream("GET", "/events/stream", params=params) as response:
            frames = _frames(response.aiter_lines())
            await anext(frames)  # subscribed
            _alerts(log, ["before"])
            [seen] = await _events(frames, 1)
        # Away: events happen, some through the deferred path; other kinds are filtered.
        _alerts(log, ["away-1", "away-2"])
        _alerts(log, ["away-3"], soon=True)
        log.append("visit", detail={"action": "not an alert"})
        _alerts(log, ["away-4"])

        headers = {"Last-Event-ID": str(seen["id"])}
        async with http.stream("GET", "/events/stream", params=params,
                               headers=headers) as response:
            frames = _frames(response.aiter_lines())
            # Events keep coming while the missed ones are read and sent: the seam.
            _alerts(log, ["live-1"], soon=True)
            _alerts(log, ["live-2"])
            got = await _events(frames, 6)
            _alerts(log, ["live-3"])
            got += await _events(frames, 1)

        names = [e["detail"]["message"] for e in got]
        assert names == ["away-1", "away-2", "away-3", "away-4", "live-1", "live-2", "live-3"]
        ids = [e["id"] for e in got]
        assert ids == sorted(set(ids)) and ids[0] > seen["id"]

        # `after` does the same for a client that opens a new stream itself (the page).
        async with http.stream("GET", "/events/stream", params={
                **params, "after": str(ids[3])}) as response:
            again = await _events(_frames(response.aiter_lines()), 3)
        assert [e["detail"]["message"] for e in again] == ["live-1", "live-2", "live-3"]

        # An id we never sent is no id: the feed is live only, nothing replayed.
        async with http.stream("GET", "/events/stream", params=params,
                               headers={"Last-Event-ID": "garbage"}) as response:
            frames = _frames(response.aiter_lines())
            await anext(frames)
            _alerts(log, ["after-garbage"])
            [only] = await _events(frames, 1)
        assert only["detail"]["message"] == "after-garbage"
