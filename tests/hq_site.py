"""A simulated site as head office sees one: it speaks controller/link/wire.py on the
head-office broker (events, a retained summary, the bridge's link notification) and answers
booking requests with the P1 rule (one visit at a time: refused with the visit it collides
with and the next free start), once per request id.

For the tests, the bench's load generator (bench/hq_ingest.py), and demos:

    python -m tests.hq_site --broker mqtt://127.0.0.1:1883 --sites 2

It lives in tests/ rather than simulators/ because it speaks controller.link.wire, which
the simulators' layer may not import (pyproject.toml, [tool.importlinter]).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import aiomqtt
from pydantic import ValidationError

from controller.link import wire
from controller.store.requests import VisitRequest
from controller.store.visits import VisitStatus
from devices.model import prefixed

SITE_TZ = UTC  # a naive start in a request means the site's zone; here, UTC


def snapshot(surname: str, start: datetime, minutes: float = 60, *, honorific: str = "先生",
             status: VisitStatus = VisitStatus.BOOKED, visit_id: str | None = None,
             ) -> wire.VisitSnapshot:
    return wire.VisitSnapshot(
        id=visit_id or f"v-{uuid.uuid4().hex[:8]}", salutation=f"{surname}{honorific}",
        surname=surname, honorific=honorific, start=start,
        end=start + timedelta(minutes=minutes), status=status, source="api")


class SimSite:
    """One site on the head-office broker. `async with SimSite(...) as site:`."""

    def __init__(self, host: str, port: int, site_id: str, name: str | None = None, *,
                 prefix: str = "", answer: bool = True) -> None:
        self.host, self.port, self.site, self.prefix = host, port, site_id, prefix
        self.name = name or site_id
        self.answer = answer  # False: requests wait, as behind a link that is down
        self.visits: list[wire.VisitSnapshot] = []
        self.replies: dict[str, wire.BookingReply] = {}
        self.requests: list[wire.BookingRequest] = []
        self.trouble: list[wire.DeviceProblem] = []
        self._seq = itertools.count(1)
        self._client: aiomqtt.Client | None = None
        self._task: asyncio.Task[None] | None = None
        self._stack = contextlib.AsyncExitStack()

    def topic(self, topic: str) -> str:
        return prefixed(self.prefix, topic)

    async def __aenter__(self) -> SimSite:
        identifier = f"sim-{self.site}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self._client = await self._stack.enter_async_context(
            aiomqtt.Client(self.host, self.port, identifier=identifier))
        await self._client.subscribe(self.topic(wire.request_topic(self.site)), qos=1)
        self._task = asyncio.create_task(self._serve(self._client), name=f"sim-site:{self.site}")
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._stack.aclose()

    @property
    def client(self) -> aiomqtt.Client:
        assert self._client is not None, "use `async with SimSite(...)`"
        return self._client

    # --- what a site publishes ----------------------------------------------------------------

    def event(self, kind: str = "cue", *, visit: wire.VisitSnapshot | None = None,
              at: datetime | None = None, **fields: Any) -> wire.EventMessage:
        seq = next(self._seq)
        return wire.EventMessage(id=f"{self.site}:{seq}", site=self.site, seq=seq,
                                 at=at or datetime.now(UTC), kind=kind,
                                 visit_id=visit.id if visit else None, visit=visit, **fields)

    async def publish(self, topic: str, payload: str | bytes, *, retain: bool = False) -> None:
        await self.client.publish(self.topic(topic), payload, qos=1, retain=retain)

    async def send_event(self, message: wire.EventMessage) -> None:
        await self.publish(wire.events_topic(self.site), message.model_dump_json())

    async def send_summary(self, at: datetime | None = None) -> wire.Summary:
        now = at or datetime.now(UTC)
        current = next((v for v in self.visits if v.start <= now < v.end), None)
        coming = sorted((v for v in self.visits if v.start > now), key=lambda v: v.start)
        summary = wire.Summary(site=self.site, name=self.name, at=now, current=current,
                               next=coming[: wire.NEXT_VISITS], devices_in_trouble=self.trouble)
        await self.publish(wire.summary_topic(self.site), summary.model_dump_json(), retain=True)
        return summary

    async def send_link(self, up: bool) -> None:
        await self.publish(wire.link_topic(self.site), wire.LINK_UP if up else wire.LINK_DOWN,
                           retain=True)

    # --- answering head office ------------------------------------------------------------------

    async def _serve(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            payload = message.payload if isinstance(message.payload, bytes) else b""
            try:
                request = wire.BookingRequest.model_validate_json(payload)
            except ValidationError:
                continue
            self.requests.append(request)
            if self.answer:
                await self.reply(request)

    async def answer_waiting(self) -> None:
        """Answer every request that waited (the link came back)."""
        self.answer = True
        for request in list(self.requests):
            await self.reply(request)

    async def reply(self, request: wire.BookingRequest) -> wire.BookingReply:
        reply = self.replies.get(request.request_id) or self.decide(request)
        self.replies[request.request_id] = reply
        await self.publish(wire.reply_topic(self.site), reply.model_dump_json())
        return reply

    def decide(self, request: wire.BookingRequest) -> wire.BookingReply:
        now = datetime.now(UTC)
        base: dict[str, Any] = {"request_id": request.request_id, "site": self.site, "at": now}
        try:
            asked = VisitRequest.model_validate(request.visit)
        except ValidationError as exc:
            return wire.BookingReply(ok=False, error=str(exc.errors()[0]["msg"]), **base)
        start = asked.start if asked.start.tzinfo else asked.start.replace(tzinfo=SITE_TZ)
        end = start + asked.duration
        for other in sorted(self.visits, key=lambda v: v.start):
            if other.start < end and start < other.end:
                return wire.BookingReply(
                    ok=False, error=f"overlaps {other.id} ({other.salutation})",
                    collides_with=other.id, next_free=self.next_free(start, end - start), **base)
        visit = snapshot(asked.surname, start, asked.duration.total_seconds() / 60,
                         honorific=asked.honorific)
        self.visits.append(visit)
        return wire.BookingReply(ok=True, visit=visit, **base)

    def next_free(self, start: datetime, length: timedelta) -> datetime:
        for other in sorted(self.visits, key=lambda v: v.start):
            if other.start < start + length and start < other.end:
                start = other.end
        return start


@contextlib.asynccontextmanager
async def sites(host: str, port: int, ids: list[str], *, prefix: str = "",
                ) -> AsyncIterator[list[SimSite]]:
    async with contextlib.AsyncExitStack() as stack:
        yield [await stack.enter_async_context(SimSite(host, port, i, prefix=prefix))
               for i in ids]


async def _demo(host: str, port: int, count: int, every: float) -> None:
    """Sites that each book a visit soon, report it, and say what happens every `every` s."""
    async with sites(host, port, [f"site_{i + 1}" for i in range(count)]) as running:
        for n, site in enumerate(running):
            await site.send_link(True)
            site.visits.append(snapshot("王李张刘陈"[n % 5], datetime.now(UTC)
                                        + timedelta(minutes=30 + 90 * n)))
        while True:
            for site in running:
                await site.send_summary()
                await site.send_event(site.event("cue", visit=site.visits[0]))
            await asyncio.sleep(every)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.hq_site",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--broker", default="mqtt://127.0.0.1:1883")
    parser.add_argument("--sites", type=int, default=2)
    parser.add_argument("--every", type=float, default=5.0, help="seconds between reports")
    args = parser.parse_args()
    url = urlsplit(args.broker)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_demo(url.hostname or "127.0.0.1", url.port or 1883, args.sites, args.every))


if __name__ == "__main__":
    main()
