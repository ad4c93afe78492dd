"""Booking requests from head office on vipctl/<site>/bookings/request, answered on
…/bookings/reply: booked as a local booking (P1), answered once per request id, garbage
answered or ignored, retained messages ignored. Real mosquitto, the whole site."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from controller.link.wire import BookingReply, BookingRequest
from controller.store.visits import VisitStatus
from tests.broker import Mosquitto
from tests.link.listener import Listener, listening
from tests.scenario.rig import SiteRig, site_rig
from tests.waiting import eventually

REQUESTS = "vipctl/demo/bookings/request"
FAR = timedelta(days=2)


def request(rig: SiteRig, request_id: str, *, at: timedelta = FAR, **visit: Any) -> str:
    start = (rig.now() + at).replace(microsecond=0)
    return BookingRequest(request_id=request_id, requested_by="hq-booker",
                          visit={"surname": "李", "honorific": "女士",
                                 "start": start.isoformat(), **visit}).model_dump_json()


async def ask(hq: Listener, payload: str | bytes, request_id: str) -> BookingReply:
    await hq.publish(REQUESTS, payload)
    replies = await eventually(lambda: hq.replies("demo", request_id),
                               what=f"a reply to {request_id}")
    return replies[-1]


async def link_up(rig: SiteRig) -> None:
    """The link's session subscribed: from now on the broker keeps what comes for it."""
    assert rig.daemon.link is not None
    await rig.daemon.link.transport.wait_connected(10)


def booked(rig: SiteRig) -> list[str]:
    return [v.id for v in rig.daemon.book.list(statuses=[VisitStatus.BOOKED])]


async def test_booked_refused_with_the_next_free_start_and_answered_once(
        tmp_path: Path, mosquitto: Mosquitto, topic_prefix: str) -> None:
    async with site_rig(tmp_path, mosquitto, topic_prefix) as rig, \
            listening(mosquitto.host, mosquitto.port, topic_prefix) as hq:
        await link_up(rig)
        ok = await ask(hq, request(rig, "r-1"), "r-1")
        assert ok.ok and ok.visit is not None and ok.site == "demo"
        assert booked(rig) == [ok.visit.id]
        assert rig.daemon.book.get(ok.visit.id).source == "hq:hq-booker"
        assert ok.visit.salutation == "李女士"

        clash = await ask(hq, request(rig, "r-2", at=FAR + timedelta(minutes=30)), "r-2")
        assert not clash.ok and clash.collides_with == ok.visit.id
        assert clash.next_free is not None and clash.next_free >= ok.visit.end
        assert clash.error and "overlaps" in clash.error

        # The bridge replays r-1: the same answer again, nothing booked twice.
        await hq.publish(REQUESTS, request(rig, "r-1"))
        await eventually(lambda: len(hq.replies("demo", "r-1")) == 2)
        assert hq.replies("demo", "r-1")[0] == hq.replies("demo", "r-1")[1]
        assert booked(rig) == [ok.visit.id]
        assert [t for t in hq.heard if "李" in t.topic] == []  # names are data, not topics


async def test_garbage_is_answered_when_it_has_a_request_id_and_ignored_otherwise(
        tmp_path: Path, mosquitto: Mosquitto, topic_prefix: str) -> None:
    async with site_rig(tmp_path, mosquitto, topic_prefix) as rig, \
            listening(mosquitto.host, mosquitto.port, topic_prefix) as hq:
        await link_up(rig)
        await hq.publish(REQUESTS, b"\xff not json")
        await hq.publish(REQUESTS, json.dumps({"visit": {}}))  # no request id
        bad_field = await ask(hq, json.dumps({"request_id": "g-1", "visit": []}), "g-1")
        assert not bad_field.ok and bad_field.error and "visit" in bad_field.error
        bad_visit = await ask(hq, request(rig, "g-2", party_size=0), "g-2")
        assert not bad_visit.ok and bad_visit.error
        assert "visit.party_size" in bad_visit.error
        # Requests are taken in order: the two before g-1 were heard, and not answered.
        assert {r.request_id for r in hq.replies("demo")} == {"g-1", "g-2"}
        assert booked(rig) == []
        assert (await ask(hq, request(rig, "g-3"), "g-3")).ok  # the daemon lives on


async def test_a_retained_request_is_no_request(
        tmp_path: Path, mosquitto: Mosquitto, topic_prefix: str,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "controller.link.bookings")
    async with listening(mosquitto.host, mosquitto.port, topic_prefix,
                         topic="vipctl/demo/bookings/reply") as hq:
        # Left on the broker before the daemon starts: it comes as retained state.
        stale = BookingRequest(request_id="old-1", visit={
            "surname": "张", "honorific": "总", "start": "2999-01-01T10:00:00+08:00"})
        await hq.publish(REQUESTS, stale.model_dump_json(), retain=True)
        try:
            async with site_rig(tmp_path, mosquitto, topic_prefix) as rig:
                await link_up(rig)
                await eventually(lambda: "ignored a retained message" in caplog.text)
                assert (await ask(hq, request(rig, "new-1"), "new-1")).ok
                assert [r.request_id for r in hq.replies("demo")] == ["new-1"]
                assert len(booked(rig)) == 1
        finally:
            await hq.publish(REQUESTS, b"", retain=True)
