"""The topics and payloads between a site and head office: the one contract the site's
daemon (controller/link) and `vipctl hq` (controller/hq) both speak.

Every topic is under vipctl/<site_id>/, so that one bridge line per direction carries a
site's traffic and one ACL pattern confines it. All payloads are UTF-8 JSON objects; every
time is ISO 8601 with its offset. Unknown fields are ignored on reading (a newer site may
say more than an older head office knows), missing or malformed ones refuse the message.

  topic                           dir   QoS retained  payload
  vipctl/<site>/events            out   1   no        EventMessage, one per site event
  vipctl/<site>/summary           out   1   yes       Summary, on change and every minute
  vipctl/<site>/bookings/reply    out   1   no        BookingReply, one per request id
  vipctl/<site>/bookings/request  in    1   no        BookingRequest (head office only)
  vipctl/<site>/link              (bridge) 1 yes      "1" / "0": Mosquitto's bridge
                                                      notification, link up / down

"out" is site → head office, "in" head office → site. A message may arrive twice (QoS 1,
a bridge that replays its queue): an event's `id` and a request's `request_id` make every
receiver idempotent.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from controller.store.visits import Visit, VisitStatus

ROOT = "vipctl"
SUMMARY_EVERY_S = 60.0  # a retained summary is re-sent at least this often: "last heard"
NEXT_VISITS = 5  # how many coming visits a summary lists
# Request ids: what a head office's client may pick (a UUID, a counter with a prefix).
REQUEST_ID = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"
LINK_UP, LINK_DOWN = "1", "0"  # Mosquitto's bridge notifications


def events_topic(site_id: str) -> str:
    return f"{ROOT}/{site_id}/events"


def summary_topic(site_id: str) -> str:
    return f"{ROOT}/{site_id}/summary"


def request_topic(site_id: str) -> str:
    return f"{ROOT}/{site_id}/bookings/request"


def reply_topic(site_id: str) -> str:
    return f"{ROOT}/{site_id}/bookings/reply"


def link_topic(site_id: str) -> str:
    return f"{ROOT}/{site_id}/link"


def site_of(topic: str) -> str | None:
    """The site id of a topic under vipctl/<site>/ (None for any other topic)."""
    parts = topic.split("/")
    return parts[1] if len(parts) >= 3 and parts[0] == ROOT and parts[1] else None


class _Message(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class VisitSnapshot(_Message):
    """A visit as head office sees it: enough to list, search and show it."""

    id: str
    salutation: str  # 王先生
    surname: str
    honorific: str
    party_size: int = 1
    start: AwareDatetime
    end: AwareDatetime
    status: VisitStatus
    source: str

    @classmethod
    def of(cls, visit: Visit) -> VisitSnapshot:
        return cls(id=visit.id, salutation=visit.salutation, surname=visit.surname,
                   honorific=visit.honorific, party_size=visit.party_size, start=visit.start,
                   end=visit.end, status=visit.status, source=visit.source)


class EventMessage(_Message):
    """One row of the site's event log. `id` is "<site>:<seq>", unique across sites and
    stable across re-sends; `seq` is the row's id in the site's database (increasing)."""

    id: str
    site: str
    seq: int
    at: AwareDatetime
    kind: str
    visit_id: str | None = None
    source: str | None = None
    device_id: str | None = None
    result: str | None = None
    detail: dict[str, Any] = Field(default_factory=dict)
    visit: VisitSnapshot | None = None  # the event's visit as it is when sent


class DeviceProblem(_Message):
    device_id: str
    problem: Literal["unavailable", "failed"]
    since: AwareDatetime | None = None
    message: str | None = None


class Summary(_Message):
    """The site now: retained, so head office (and a restarted `vipctl hq`) has it at once."""

    site: str
    name: str
    at: AwareDatetime  # when the site sent it: head office's "last heard from"
    current: VisitSnapshot | None = None
    next: list[VisitSnapshot] = Field(default_factory=list)
    devices_in_trouble: list[DeviceProblem] = Field(default_factory=list)
    preflight: dict[str, Any] | None = None  # the last preflight's result, when there is one


class BookingRequest(_Message):
    """Head office asks a site for a visit. `visit` is what POST /visits takes (checked by
    the site as a local booking: controller/store/requests.py VisitRequest)."""

    request_id: Annotated[str, Field(pattern=REQUEST_ID)]
    visit: dict[str, Any]
    requested_by: str | None = None  # the head-office user, for the site's event log
    sent_at: AwareDatetime | None = None


class BookingReply(_Message):
    """The site's answer, once per request id (a re-delivered request gets the same reply
    again and books nothing). Refused: `error`, and for a P1 clash `collides_with` and
    `next_free`; malformed: `error` only."""

    request_id: str
    site: str
    ok: bool
    at: AwareDatetime
    visit: VisitSnapshot | None = None
    error: str | None = None
    collides_with: str | None = None
    next_free: AwareDatetime | None = None
