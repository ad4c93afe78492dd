"""Booking requests from head office: checked as a local booking, answered once per id.

A request on vipctl/<site>/bookings/request is booked exactly as POST /visits books (the
same VisitRequest, P1 enforced by the book) and answered with a BookingReply on
vipctl/<site>/bookings/reply. The reply is stored in the kv store under the request's id
in the booking's own transaction (VisitBook.book's `also`): booked and answered, or
neither. A request delivered again (QoS 1, a bridge replaying its queue, head office
asking twice) finds its reply there and gets it again, and books nothing. A refusal is
stored too, so that the same request gets the same answer.

Requests are taken one at a time, in arrival order, by one task: two deliveries of one
request can never race each other. Retained requests are not requests (issue 12: retained
messages are state only), garbage is answered when it names a request id and logged
either way: nothing that arrives here can stop the daemon. Guest names stay in payloads,
never in topics or log lines.

A request is acknowledged to the broker when it arrives (paho acknowledges QoS 1 on
receipt), before it is booked: a daemon killed in between loses that delivery, and head
office, hearing no reply, sends the same request id again.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from sqlalchemy.orm import Session

from controller.engine.engine import Engine
from controller.link.encoding import to_json
from controller.link.wire import (
    REQUEST_ID,
    BookingReply,
    BookingRequest,
    VisitSnapshot,
    reply_topic,
    request_topic,
)
from controller.store.database import Database
from controller.store.requests import VisitRequest
from controller.store.visits import BookingRefused, Visit
from devices.transports.mqtt import MqttTransport, TransportUnavailable

log = logging.getLogger(__name__)

# Requests waiting to be taken; beyond it the newest are dropped (and logged): head office
# asks again with the same id, and nothing here may grow without bound.
QUEUE = 1000
SOURCE_MAX = 32  # VisitBook's limit on a visit's `source`
PUBLISH_TIMEOUT_S = 5.0
_KEY = "link:reply:"  # + a digest of the request id (the kv key holds 64 characters)
_ID = re.compile(REQUEST_ID)


def reply_key(request_id: str) -> str:
    return _KEY + hashlib.sha256(request_id.encode()).hexdigest()[:40]


def request_id_of(payload: bytes) -> str | None:
    """The request id of a payload that is not a valid request, if one can be read."""
    try:
        data = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        return None
    value = data.get("request_id") if isinstance(data, dict) else None
    return value if isinstance(value, str) and _ID.match(value) else None


def _errors(exc: ValidationError, prefix: str = "") -> str:
    # The field and the reason, never the input (a guest's name is data, not a message).
    return "; ".join(f"{prefix}{'.'.join(str(p) for p in e['loc']) or 'payload'}: {e['msg']}"
                     for e in exc.errors(include_input=False, include_url=False))[:500]


class BookingDesk:
    def __init__(self, *, engine: Engine, db: Database, transport: MqttTransport,
                 tz: ZoneInfo, clock: Callable[[], datetime]) -> None:
        self._engine = engine
        self._db = db
        self._transport = transport
        self._tz = tz
        self._clock = clock
        self._site = db.site_id
        self._queue: asyncio.Queue[bytes] = asyncio.Queue(QUEUE)
        self.answered = 0  # replies acknowledged by the broker (tests)

    def subscribe(self) -> None:
        self._transport.subscribe(request_topic(self._site), self._on_message)

    def _on_message(self, topic: str, payload: bytes, retained: bool) -> None:
        if retained:
            log.info("link: ignored a retained message on %s (a request is never state)",
                     topic)
            return
        try:
            self._queue.put_nowait(payload)
        except asyncio.QueueFull:
            log.warning("link: %d booking requests waiting; one dropped (head office asks "
                        "again)", QUEUE)

    async def run(self) -> None:
        while True:
            payload = await self._queue.get()
            try:
                reply = await self.answer(payload)
            except Exception:  # one bad request must not end the desk
                log.exception("link: a booking request could not be handled")
                continue
            if reply is not None:
                await self._send(reply)

    async def answer(self, payload: bytes) -> BookingReply | None:
        """The reply to `payload` (None: no request id to answer to), booking it if new."""
        try:
            request = BookingRequest.model_validate_json(payload)
        except ValidationError as exc:
            request_id = request_id_of(payload)
            log.warning("link: a malformed booking request (%s): %s",
                        request_id or "no request id", _errors(exc))
            if request_id is None:
                return None
            return self._reply(request_id, ok=False, error=_errors(exc))
        stored = self._db.load_value(reply_key(request.request_id))
        if stored is not None:
            log.info("link: booking request %s again; answered as before", request.request_id)
            return BookingReply.model_validate(stored)
        reply = await self._book(request)
        if not reply.ok:  # a booking's reply is stored with it (below)
            self._db.save_value(reply_key(request.request_id), reply.model_dump(mode="json"))
        return reply

    async def _book(self, request: BookingRequest) -> BookingReply:
        try:
            visit_request = VisitRequest.model_validate(request.visit, context={"tz": self._tz})
        except ValidationError as exc:
            return self._reply(request.request_id, ok=False, error=_errors(exc, "visit."))
        source = f"hq:{request.requested_by or request.request_id}"[:SOURCE_MAX]
        booked: list[BookingReply] = []

        def store(session: Session, visit: Visit) -> None:
            reply = self._reply(request.request_id, ok=True, visit=VisitSnapshot.of(visit))
            self._db.save_value(reply_key(request.request_id), reply.model_dump(mode="json"),
                                session)
            booked.append(reply)

        try:
            visit = await self._engine.book_visit(visit_request, source=source, also=store)
        except BookingRefused as refused:
            # Not the reason: it names the other visit's guest (data for the reply only).
            log.info("link: booking request %s refused (collides with %s, next free %s)",
                     request.request_id, refused.collides_with, refused.next_free)
            return self._reply(request.request_id, ok=False, error=refused.reason,
                               collides_with=refused.collides_with,
                               next_free=refused.next_free)
        log.info("link: booking request %s booked %s", request.request_id, visit.id)
        return booked[0]

    def _reply(self, request_id: str, *, ok: bool, **fields: Any) -> BookingReply:
        return BookingReply(request_id=request_id, site=self._site, ok=ok, at=self._clock(),
                            **fields)

    async def _send(self, reply: BookingReply) -> None:
        """Publish the reply; while the broker is away, wait for it (head office waits)."""
        while True:
            try:
                await self._transport.publish(reply_topic(self._site), to_json(reply),
                                              qos=1, retain=False, timeout=PUBLISH_TIMEOUT_S)
            except TransportUnavailable as exc:
                log.info("link: reply to %s not sent (%s); waiting for the broker",
                         reply.request_id, exc)
                await self._transport.connected.wait()
                continue
            self.answered += 1
            return
