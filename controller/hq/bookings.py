"""Booking a visit at a site from head office: the request published on the site's topic,
kept with its reply, and read back as one state the page and the API show.

A request is stored before it is published, so that a reply (which can come back within
milliseconds) always finds it. A link that is down does not refuse the request: Mosquitto's
bridge queues it (cleansession false) and the site answers when it returns; the state says
so, from the site's last link notification.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import aiomqtt

from controller.errors import ControllerError
from controller.hq.store import HqStore
from controller.link import wire
from controller.store.tables import utc_now
from devices.model import prefixed

PUBLISH_TIMEOUT_S = 5.0


class NotConnected(ControllerError):
    """Head office is not connected to its broker: the request was not sent."""


async def send_booking(store: HqStore, client: aiomqtt.Client | None, prefix: str, *,
                       site: str, visit: dict[str, Any], requested_by: str,
                       ) -> wire.BookingRequest:
    if client is None:
        raise NotConnected("head office is not connected to its broker; try again shortly")
    now = utc_now()
    request = wire.BookingRequest(request_id=str(uuid.uuid4()), visit=visit,
                                  requested_by=requested_by, sent_at=now)
    await asyncio.to_thread(store.add_booking, request, site, now)
    try:
        await client.publish(prefixed(prefix, wire.request_topic(site)),
                             request.model_dump_json(), qos=1, timeout=PUBLISH_TIMEOUT_S)
    except (aiomqtt.MqttError, TimeoutError):
        await asyncio.to_thread(store.forget_booking, request.request_id)
        raise NotConnected("head office lost its broker while sending; try again") from None
    return request


def booking_state(row: dict[str, Any], link_up: bool | None) -> dict[str, Any]:
    """waiting, link_down (waiting for a site whose link is down), booked or refused."""
    reply: dict[str, Any] | None = row.get("reply")
    out: dict[str, Any] = {"request_id": row["request_id"], "site": row["site"],
                           "requested_by": row["requested_by"], "sent_at": row["sent_at"],
                           "visit_request": row["request"].get("visit", {}),
                           "replied_at": row["replied_at"]}
    if reply is None:
        out["state"] = "link_down" if link_up is False else "waiting"
        return out
    out["state"] = "booked" if reply.get("ok") else "refused"
    for key in ("visit", "error", "collides_with", "next_free"):
        out[key] = reply.get(key)
    return out
