"""The vipctl-intercom simulator over a real mosquitto, seen by a plain client.

The peer sends what docs/conventions-vipctl.md documents and asserts what the specification
says comes back: on which topic, retained or not, in which order.
"""

from __future__ import annotations

import json
import time

import pytest

from devices.announcements import AnnouncementQueue
from devices.errors import DecodeError
from devices.model import Announcement, matches
from simulators.vipctl_intercom import VipctlIntercomGateway
from tests.contract.vipctl.peer import (
    ARRIVAL,
    IT,
    Peer,
    intercom_codec,
)
from tests.waiting import WAIT_S, always, eventually

# --- intercom ------------------------------------------------------------------------------


async def test_announcement_is_queued_started_done_and_proven(
    gateway: VipctlIntercomGateway, peer: Peer
) -> None:
    codec = intercom_codec()
    [say] = codec.announce(Announcement("visit-1/arrival", ARRIVAL))
    await peer.send(say)
    await peer.expect(f"{IT}/event", lambda e: e["event"] == "done")
    assert [e["event"] for e in peer.on(f"{IT}/event")] == ["queued", "started", "done"]
    assert ARRIVAL.encode() in peer.payloads(f"{IT}/say")[0]  # readable on the wire
    state = await peer.expect(f"{IT}/state", lambda s: s["announced"] is not None)
    assert state == {"status": "idle", "speaking": None, "queue": 0, "announced": "visit-1/arrival"}
    assert [s["status"] for s in peer.on(f"{IT}/state")] == ["idle", "idle", "speaking", "idle"]
    update = codec.decode(f"{IT}/state", json.dumps(state).encode())
    wanted = codec.announcement_confirmation(Announcement("visit-1/arrival", ARRIVAL))
    assert update is not None and matches(update.state, wanted)
    [spoken] = gateway.spoken
    assert spoken.text == ARRIVAL
    assert spoken.end - spoken.start >= len(ARRIVAL) * gateway.seconds_per_char * 0.9


async def test_queue_honours_priority_and_never_overlaps(
    gateway: VipctlIntercomGateway, peer: Peer
) -> None:
    codec = intercom_codec()
    plan = [("first", 5, "x" * 30), ("low", 1, "low"), ("mid-a", 5, "mid a"),
            ("high", 9, "high"), ("mid-b", 5, "mid b")]
    for ident, priority, text in plan:
        await peer.send(codec.announce(Announcement(ident, text, priority=priority))[0])
        if ident == "first":
            await peer.expect(f"{IT}/event", lambda e: e["event"] == "started")
    await peer.expect(f"{IT}/event", lambda e: e["id"] == "low" and e["event"] == "done")
    assert [s.id for s in gateway.spoken] == ["first", "high", "mid-a", "mid-b", "low"]
    for before, after in zip(gateway.spoken, gateway.spoken[1:], strict=False):
        assert after.start >= before.end
    lifecycle = [(e["event"], e["id"]) for e in peer.on(f"{IT}/event") if e["event"] != "queued"]
    assert lifecycle == [(ev, s.id) for s in gateway.spoken for ev in ("started", "done")]


async def test_resent_announcement_is_said_once(gateway: VipctlIntercomGateway, peer: Peer) -> None:
    [say] = intercom_codec().announce(Announcement("visit-2/arrival", "李女士已到访"))
    await peer.send(say)
    await peer.send(say)  # a retry before it was played: still queued or speaking
    await peer.expect(f"{IT}/event", lambda e: e["event"] == "done")
    await peer.send(say)  # a retry after: answered "done" again, not said again
    await peer.expect(f"{IT}/event", lambda e: e["event"] == "done" and e.get("duplicate") is True)
    # Both re-sends answered as duplicates: neither is left to be said.
    await eventually(lambda: sum(e.get("duplicate", False) for e in peer.on(f"{IT}/event")) >= 2)
    assert sum(e.get("duplicate", False) for e in peer.on(f"{IT}/event")) == 2
    assert [s.id for s in gateway.spoken] == ["visit-2/arrival"]


async def test_failed_announcement_is_reported_and_can_be_sent_again(
    gateway: VipctlIntercomGateway, peer: Peer
) -> None:
    gateway.failing = True
    [say] = intercom_codec().announce(Announcement("visit-3/leaving", "张总即将离开"))
    await peer.send(say)
    failed = await peer.expect(f"{IT}/event", lambda e: e["event"] == "failed")
    assert failed["id"] == "visit-3/leaving" and failed["error"]
    assert peer.on(f"{IT}/state")[-1]["announced"] is None
    gateway.failing = False
    await peer.send(say)
    await peer.expect(f"{IT}/event", lambda e: e["event"] == "done")
    assert [s.id for s in gateway.spoken] == ["visit-3/leaving"]


async def test_bad_says_are_refused_and_a_full_queue_refuses(
    gateway: VipctlIntercomGateway, peer: Peer
) -> None:
    await peer.raw(f"{IT}/say", b'{"id": "bad-1", "text": "hi", "priority": 12}')
    await peer.raw(f"{IT}/say", b"\xff not json")
    await peer.expect(f"{IT}/event", lambda e: e["event"] == "refused" and e["id"] is None)
    first = await peer.expect(f"{IT}/event", lambda e: e["event"] == "refused")
    assert first["id"] == "bad-1" and "priority" in first["error"]
    gateway.queue = AnnouncementQueue(capacity=1)
    codec = intercom_codec()
    for ident in ("long", "waits", "overflow"):
        await peer.send(codec.announce(Announcement(ident, "y" * 20))[0])
        if ident == "long":
            await peer.expect(f"{IT}/event", lambda e: e["event"] == "started")
    full = await peer.expect(f"{IT}/event", lambda e: e["id"] == "overflow")
    assert full["event"] == "refused" and "full" in full["error"]
    await peer.expect(f"{IT}/event", lambda e: e["id"] == "waits" and e["event"] == "done")
    assert [s.id for s in gateway.spoken] == ["long", "waits"]


async def test_speech_goes_on_while_offline_and_the_birth_proves_it(
    gateway: VipctlIntercomGateway, peer: Peer
) -> None:
    gateway.seconds_per_char = 0.05
    [say] = intercom_codec().announce(Announcement("visit-4/arrival", ARRIVAL))
    await peer.send(say)
    await peer.expect(f"{IT}/event", lambda e: e["event"] == "started")
    await gateway.go_offline()
    await peer.expect_payload(f"{IT}/availability", b"offline")
    await eventually(lambda: gateway.spoken, WAIT_S)
    await gateway.come_back()
    await peer.expect(f"{IT}/state", lambda s: s["announced"] == "visit-4/arrival")


async def test_intercom_change_locally_and_faults(
    gateway: VipctlIntercomGateway, peer: Peer
) -> None:
    await gateway.change_locally({"announced": "manual-mic"})
    await peer.expect(f"{IT}/state", lambda s: s["announced"] == "manual-mic")
    with pytest.raises(ValueError, match="reports only"):
        await gateway.change_locally({"power": True})

    codec = intercom_codec()
    gateway.faults.ignore_commands = True
    await peer.send(codec.announce(Announcement("ignored", "hi"))[0])
    await eventually(lambda: [t for t, _ in gateway.commands()] == [f"{IT}/say"])
    await always(lambda: gateway.spoken == []
                 and not [e for e in peer.on(f"{IT}/event") if e["id"] == "ignored"])
    gateway.faults.ignore_commands = False

    gateway.faults.reply_delay = 0.3
    sent = time.monotonic()
    await peer.send(codec.announce(Announcement("slow", "hi"))[0])
    await peer.expect(f"{IT}/event", lambda e: e["id"] == "slow" and e["event"] == "queued")
    assert time.monotonic() - sent >= 0.3
    await peer.expect(f"{IT}/event", lambda e: e["id"] == "slow" and e["event"] == "done")
    events = [e["event"] for e in peer.on(f"{IT}/event") if e["id"] == "slow"]
    assert events == ["queued", "started", "done"]  # the delay does not reorder them
    gateway.faults.reply_delay = 0.0

    gateway.faults.wrong_state = {"announced": "stale"}
    await peer.send(codec.announce(Announcement("wrong", "hi"))[0])
    await peer.expect(f"{IT}/event", lambda e: e["id"] == "wrong" and e["event"] == "done")
    states = len(peer.on(f"{IT}/state"))
    await peer.send(codec.query()[0])
    await eventually(lambda: len(peer.on(f"{IT}/state")) > states)  # the query's answer
    assert {s["announced"] for s in peer.on(f"{IT}/state")[-3:]} == {"stale"}


async def test_intercom_garbage_on_state_topics_is_refused_by_the_codec(
    gateway: VipctlIntercomGateway, peer: Peer
) -> None:
    codec = intercom_codec()
    for topic in gateway.state_topics():
        await gateway.publish(topic, b"[1, 2, 3]")
        await peer.expect_payload(topic, b"[1, 2, 3]")
        with pytest.raises(DecodeError):
            codec.decode(topic, b"[1, 2, 3]")
