"""The API on a real uvicorn server: the live feed (server-sent events) with its heartbeat,
a clean stop with a client still listening, the published schema, a taken port."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from controller.api.server import ApiError, serve_api
from tests.api.harness import ADMIN, FAR, ApiSite, served


async def _frames(lines: AsyncIterator[str]) -> AsyncIterator[list[str]]:
    """The stream cut into frames (the lines up to a blank one)."""
    frame: list[str] = []
    async for line in lines:
        if line == "":
            yield frame
            frame = []
        else:
            frame.append(line)


async def test_live_feed_heartbeat_and_clean_stop(site: ApiSite) -> None:
    async with (
        served(site) as server,
        httpx.AsyncClient(base_url=server.url, timeout=5, headers=ADMIN) as http,
        http.stream("GET", "/events/stream", params={"kind": "visit"}) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        frames = _frames(response.aiter_lines())
        async with asyncio.timeout(5):
            opening = await anext(frames)
            assert opening[0].startswith("retry:")

            # Subscribed: a booking made now arrives live, as JSON, with its id and kind.
            booked = await http.post("/visits", json={
                "surname": "王", "honorific": "先生", "start": site.at(FAR).isoformat()})
            assert booked.status_code == 201
            heartbeats = 0
            event: dict[str, Any] | None = None
            while event is None:
                frame = await anext(frames)
                if frame == [": heartbeat"]:
                    heartbeats += 1
                    continue
                fields = dict(line.split(": ", 1) for line in frame)
                assert fields["event"] == "visit"
                event = json.loads(fields["data"])
                assert fields["id"] == str(event["id"])
            assert event["visit_id"] == booked.json()["id"]
            assert event["detail"]["action"] == "booked"
            assert event["at"].endswith("+08:00")

            # Idle, the feed says it is alive (every 0.2 s in tests, 15 s for real).
            while heartbeats < 2:
                if await anext(frames) == [": heartbeat"]:
                    heartbeats += 1

        # Stopping the server ends the feed: the client sees the end, stop() returns.
        loop = asyncio.get_running_loop()
        began = loop.time()
        stopping = asyncio.create_task(server.stop())
        async with asyncio.timeout(3):
            async for _ in frames:
                pass
            await stopping
        assert loop.time() - began < 2
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient(base_url=server.url) as late:
            await late.get("/health")


async def test_schema_docs_health_and_a_taken_port(site: ApiSite) -> None:
    async with served(site) as server, httpx.AsyncClient(base_url=server.url, timeout=5,
                                                         headers=ADMIN) as http:
        assert server.host == "127.0.0.1" and server.port > 0
        assert (await http.get("/health")).json() == {"ok": True, "role": "active"}
        schema = (await http.get("/openapi.json")).json()
        assert {"/visits", "/visits/{visit_id}/plan", "/triggers/{name}", "/devices",
                "/status", "/events", "/events/stream"} <= set(schema["paths"])
        refused = schema["paths"]["/visits"]["post"]["responses"]["409"]
        assert refused["content"]["application/json"]["schema"]["$ref"].endswith("/Refusal")
        assert (await http.get("/docs")).status_code == 200

        with pytest.raises(ApiError, match="cannot listen"):
            await serve_api(site.rig.daemon, "127.0.0.1", server.port)
        # The failed second server did not disturb the first.
        assert (await http.get("/health")).status_code == 200
    await server.stop()  # idempotent
