"""What arrives from the sites, read and checked: one pure function from (topic, payload)
to a message head office keeps, or a reason it does not.

Nothing here trusts a site: a payload that is not the contract's (controller/link/wire.py),
a topic head office did not subscribe to, or a payload whose `site` differs from its
topic's (one site's bridge posing as another's) is refused with a short reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, ValidationError

from controller.config.site import ID_PATTERN
from controller.link import wire

# A site's largest honest message (a summary with five visits and a long preflight) is a
# few kB; past this it is not one, and not worth parsing.
MAX_PAYLOAD = 256 * 1024
# How much of a refused message a reason quotes.
QUOTE = 80
REASON_CHARS = 300


@dataclass(frozen=True, slots=True)
class Event:
    message: wire.EventMessage


@dataclass(frozen=True, slots=True)
class SummaryIn:
    message: wire.Summary


@dataclass(frozen=True, slots=True)
class Link:
    site: str
    up: bool


@dataclass(frozen=True, slots=True)
class Reply:
    message: wire.BookingReply


@dataclass(frozen=True, slots=True)
class Refused:
    site: str | None
    topic: str
    reason: str


Inbound = Event | SummaryIn | Link | Reply
# Each subscribed topic's last level(s) after vipctl/<site>/, and what its payload is.
_KINDS: dict[str, type[BaseModel]] = {
    "events": wire.EventMessage,
    "summary": wire.Summary,
    "bookings/reply": wire.BookingReply,
}
SUBSCRIPTIONS = [f"{wire.ROOT}/+/{kind}" for kind in (*_KINDS, "link")]


def quote(payload: bytes) -> str:
    text = payload[:QUOTE].decode("utf-8", "replace")
    return repr(text) + ("…" if len(payload) > QUOTE else "")


def read(topic: str, payload: bytes) -> Inbound | Refused:
    """The message on `topic` (without any test prefix), or why it is refused."""
    site = wire.site_of(topic)
    short_topic = topic[:200]
    if site is None or not ID_PATTERN.match(site):
        return Refused(None, short_topic, "not a topic under vipctl/<site id>/")
    kind = topic[len(wire.ROOT) + len(site) + 2:]
    if len(payload) > MAX_PAYLOAD:
        return Refused(site, short_topic, f"{len(payload)} bytes: larger than any site message")
    if kind == "link":
        if payload in (wire.LINK_UP.encode(), wire.LINK_DOWN.encode()):
            return Link(site, payload == wire.LINK_UP.encode())
        return Refused(site, short_topic, f"not {wire.LINK_UP!r} or {wire.LINK_DOWN!r}: "
                                          f"{quote(payload)}")
    model = _KINDS.get(kind)
    if model is None:
        return Refused(site, short_topic, "not a topic head office reads")
    try:
        message = model.model_validate_json(payload)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'payload'}: {e['msg']}"
                             for e in exc.errors()[:3])
        return Refused(site, short_topic, f"{problems[:REASON_CHARS]} in {quote(payload)}")
    said = getattr(message, "site", site)
    if said != site:
        return Refused(site, short_topic, f"the payload says site {said[:64]!r}")
    if isinstance(message, wire.EventMessage):
        if message.id != f"{site}:{message.seq}":
            return Refused(site, short_topic, f"event id {message.id[:64]!r} is not "
                                              f"'<site>:<seq>'")
        return Event(message)
    if isinstance(message, wire.Summary):
        return SummaryIn(message)
    assert isinstance(message, wire.BookingReply)
    return Reply(message)


def reported_at(item: Inbound) -> datetime | None:
    """The site's time on a message (a link notification has none)."""
    if isinstance(item, Event | SummaryIn | Reply):
        return item.message.at
    return None
