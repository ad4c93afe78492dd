"""The vipctl-media and vipctl-intercom simulators over a real mosquitto, seen by a plain client.

The peer sends what docs/conventions-vipctl.md documents and asserts what the specification
says comes back: on which topic, retained or not, in which order.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiomqtt
import pytest

from devices.announcements import AnnouncementQueue
from devices.conventions.vipctl_intercom import VipctlIntercomCodec, VipctlIntercomOptions
from devices.conventions.vipctl_media import VipctlMediaCodec, VipctlMediaOptions
from devices.errors import DecodeError
from devices.model import Announcement, Message, StateValue, matches
from simulators import vipctl_intercom, vipctl_media
from simulators.vipctl_intercom import VipctlIntercomGateway
from simulators.vipctl_media import VipctlMediaPlayer
from tests.broker import Mosquitto
from tests.waiting import WAIT_S, always, describe, eventually

MEDIA = VipctlMediaOptions(convention="vipctl-media", topic="vipctl/media/vip_room_tv")
INTERCOM = VipctlIntercomOptions(convention="vipctl-intercom", topic="vipctl/intercom/staff")
MT = MEDIA.topic
# Play time that the tests let pass on purpose (not settles): the behaviour under test is what
# a player's position does over time, playing, paused, or past the end of a looping item.
PLAYED_S = 0.2
PAST_THE_END_S = 0.5  # longer than the 0.3 s jingle
IT = INTERCOM.topic
ARRIVAL = "王先生已到访,请各岗位做好接待工作"


class Peer:
    """A plain MQTT client in the test's namespace: everything it saw, topics unprefixed."""

    def __init__(self, client: aiomqtt.Client, prefix: str) -> None:
        self.client = client
        self.prefix = prefix
        self.seen: list[tuple[str, bytes, bool]] = []  # (topic, payload, retain flag)

    async def send(self, message: Message) -> None:
        await self.client.publish(f"{self.prefix}/{message.topic}", message.payload, qos=1)

    async def raw(self, topic: str, payload: bytes) -> None:
        await self.client.publish(f"{self.prefix}/{topic}", payload, qos=1)

    def on(self, topic: str) -> list[dict[str, Any]]:
        return [json.loads(p) for t, p, _ in self.seen if t == topic and p.startswith(b"{")]

    def payloads(self, topic: str) -> list[bytes]:
        return [p for t, p, _ in self.seen if t == topic]

    async def expect(
        self, topic: str, predicate: Callable[[dict[str, Any]], bool] = lambda _: True,
        timeout: float = WAIT_S,
    ) -> dict[str, Any]:
        """The first JSON message on `topic` (since the start) that satisfies `predicate`."""
        return await eventually(
            lambda: next((body for body in self.on(topic) if predicate(body)), None),
            timeout, what=f"a message on {topic} that satisfies {describe(predicate)}")

    async def expect_payload(self, topic: str, payload: bytes) -> None:
        await eventually(lambda: payload in self.payloads(topic), WAIT_S,
                         what=f"{payload!r} on {topic}")


async def _listen(client: aiomqtt.Client, peer: Peer) -> None:
    async for msg in client.messages:
        topic = str(msg.topic).removeprefix(peer.prefix + "/")
        payload = msg.payload if isinstance(msg.payload, bytes) else str(msg.payload).encode()
        peer.seen.append((topic, payload, msg.retain))


async def connect_peer(broker: Mosquitto, prefix: str) -> AsyncIterator[Peer]:
    async with aiomqtt.Client(
        broker.host, broker.port, socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
    ) as client:
        await client.subscribe(f"{prefix}/#", qos=1)
        peer = Peer(client, prefix)
        task = asyncio.create_task(_listen(client, peer))
        try:
            yield peer
        finally:
            task.cancel()


@pytest.fixture
async def peer(mosquitto: Mosquitto, topic_prefix: str) -> AsyncIterator[Peer]:
    async for p in connect_peer(mosquitto, topic_prefix):
        yield p


@pytest.fixture
async def player(mosquitto: Mosquitto, topic_prefix: str, peer: Peer) -> AsyncIterator[
    VipctlMediaPlayer
]:
    sim = VipctlMediaPlayer(
        "vip_tv", MEDIA, host=mosquitto.host, port=mosquitto.port, topic_prefix=topic_prefix,
        durations={"/srv/jingle.mp3": 0.3}, unplayable={"/srv/missing.mp4"},
    )
    await sim.start()
    await peer.expect(f"{MT}/state")
    yield sim
    await sim.stop()


@pytest.fixture
async def gateway(mosquitto: Mosquitto, topic_prefix: str, peer: Peer) -> AsyncIterator[
    VipctlIntercomGateway
]:
    sim = vipctl_intercom.make(
        "staff", "intercom", INTERCOM, host=mosquitto.host, port=mosquitto.port,
        topic_prefix=topic_prefix,
    )
    assert isinstance(sim, VipctlIntercomGateway)
    await sim.start()
    await peer.expect(f"{IT}/state")
    yield sim
    await sim.stop()


def media_codec() -> VipctlMediaCodec:
    return VipctlMediaCodec("vip_tv", "media", MEDIA)


def intercom_codec() -> VipctlIntercomCodec:
    return VipctlIntercomCodec("staff", "intercom", INTERCOM)


# --- both: availability and retained state ------------------------------------------------


@pytest.mark.parametrize("which", ["media", "intercom"])
async def test_birth_is_retained_and_offline_fires_the_will(
    which: str, mosquitto: Mosquitto, topic_prefix: str, peer: Peer
) -> None:
    module: Any = vipctl_media if which == "media" else vipctl_intercom
    options = MEDIA if which == "media" else INTERCOM
    sim = module.make(which, which, options, host=mosquitto.host, port=mosquitto.port,
                      topic_prefix=topic_prefix)
    with pytest.raises(ValueError, match="not 'light'"):
        module.make(which, "light", options, host=mosquitto.host, port=mosquitto.port)
    await sim.start()
    try:
        avail = f"{options.topic}/availability"
        await peer.expect_payload(avail, b"online")
        async for late in connect_peer(mosquitto, topic_prefix):  # a controller starting now
            await late.expect_payload(avail, b"online")
            await late.expect(f"{options.topic}/state")
            assert all(retain for _, _, retain in late.seen)
        await sim.go_offline()
        await peer.expect_payload(avail, b"offline")  # published by the broker: the will
        await sim.come_back()
        await eventually(lambda: peer.payloads(avail)[-1] == b"online", WAIT_S)
    finally:
        await sim.stop()


# --- media ---------------------------------------------------------------------------------


async def test_media_command_is_applied_and_the_state_confirms_it(
    player: VipctlMediaPlayer, peer: Peer
) -> None:
    codec = media_codec()
    music: dict[str, StateValue] = {
        "power": True, "media": "/srv/media/music/lobby", "loop": True, "volume": 30,
        "playback": "playing",
    }
    [cmd] = codec.encode(music)
    await peer.send(cmd)
    body = await peer.expect(f"{MT}/state", lambda s: s["playback"] == "playing")
    update = codec.decode(f"{MT}/state", json.dumps(body).encode())
    assert update is not None and matches(update.state, codec.confirmation(music))
    assert body["error"] is None
    assert player.commands() == [(f"{MT}/set", cmd.payload.decode())]


async def test_media_position_advances_while_playing_and_holds_while_paused(
    player: VipctlMediaPlayer, peer: Peer
) -> None:
    get = media_codec().query()[0]
    await peer.send(Message(f"{MT}/set", b'{"media": "/srv/promo.mp4", "playback": "playing"}'))
    await peer.expect(f"{MT}/state", lambda s: s["playback"] == "playing")
    await asyncio.sleep(PLAYED_S)  # playing
    await peer.send(Message(f"{MT}/set", b'{"playback": "paused"}'))
    paused = await peer.expect(f"{MT}/state", lambda s: s["playback"] == "paused")
    assert 0.15 <= paused["position"] < 1.0
    await asyncio.sleep(PLAYED_S)  # paused
    await peer.send(get)
    await eventually(
        lambda: len([s for s in peer.on(f"{MT}/state") if s["playback"] == "paused"]) >= 2,
        WAIT_S)
    again = [s for s in peer.on(f"{MT}/state") if s["playback"] == "paused"][-1]
    assert again["position"] == paused["position"]


async def test_media_item_ends_unless_looping(player: VipctlMediaPlayer, peer: Peer) -> None:
    await peer.send(Message(f"{MT}/set", b'{"media": "/srv/jingle.mp3", "playback": "playing"}'))
    await peer.expect(f"{MT}/state", lambda s: s["playback"] == "playing")
    ended = await peer.expect(f"{MT}/state", lambda s: s["playback"] == "stopped"
                              and s["media"] == "/srv/jingle.mp3")
    assert ended["position"] == 0
    await peer.send(Message(f"{MT}/set", b'{"loop": true, "playback": "playing"}'))
    await asyncio.sleep(PAST_THE_END_S)  # a looping player wraps around
    assert player.state["playback"] == "playing"
    assert 0 <= player.position() < 0.3


async def test_media_that_cannot_be_opened_reports_an_error(
    player: VipctlMediaPlayer, peer: Peer
) -> None:
    await peer.send(Message(f"{MT}/set", b'{"media": "/srv/missing.mp4", "playback": "playing"}'))
    body = await peer.expect(f"{MT}/state", lambda s: s["error"] is not None)
    assert body["playback"] == "stopped"
    assert "/srv/missing.mp4" in body["error"]
    await peer.send(Message(f"{MT}/set", b'{"media": "/srv/promo.mp4", "playback": "playing"}'))
    fixed = await peer.expect(f"{MT}/state", lambda s: s["playback"] == "playing")
    assert fixed["error"] is None


@pytest.mark.parametrize(
    "payload", [b'{"volume": 150}', b'{"volume": 20, "colour": "red"}', b"garbage",
                b"x" * (1024 * 1024)],
)
async def test_media_refuses_bad_commands_whole(
    player: VipctlMediaPlayer, peer: Peer, payload: bytes
) -> None:
    await peer.raw(f"{MT}/set", payload)
    body = await peer.expect(f"{MT}/state", lambda s: s["error"] is not None)
    assert body["error"].startswith("refused:")
    assert body["volume"] == 50 == player.state["volume"]
    await peer.send(Message(f"{MT}/set", b'{"volume": 20}'))  # it still works afterwards
    assert (await peer.expect(f"{MT}/state", lambda s: s["volume"] == 20))["error"] is None


async def test_media_change_locally_is_reported(player: VipctlMediaPlayer, peer: Peer) -> None:
    await player.change_locally({"volume": 5, "power": False})
    body = await peer.expect(f"{MT}/state", lambda s: s["volume"] == 5)
    assert body["power"] is False and body["playback"] == "stopped"


async def test_media_faults(player: VipctlMediaPlayer, peer: Peer) -> None:
    player.faults.ignore_commands = True
    await peer.send(Message(f"{MT}/set", b'{"volume": 11}'))
    await eventually(lambda: player.commands() == [(f"{MT}/set", '{"volume": 11}')])
    await always(lambda: not [s for s in peer.on(f"{MT}/state") if s["volume"] == 11])
    player.faults.ignore_commands = False

    player.faults.reply_delay = 0.3
    sent = time.monotonic()
    await peer.send(Message(f"{MT}/set", b'{"volume": 12}'))
    await peer.expect(f"{MT}/state", lambda s: s["volume"] == 12)
    assert time.monotonic() - sent >= 0.3
    player.faults.reply_delay = 0.0

    player.faults.wrong_state = {"playback": "stopped"}
    await peer.send(Message(f"{MT}/set", b'{"media": "/srv/a.mp4", "playback": "playing"}'))
    body = await peer.expect(f"{MT}/state", lambda s: s["media"] == "/srv/a.mp4")
    assert body["playback"] == "stopped"
    assert player.state["playback"] == "playing"


async def test_media_garbage_on_state_topics_is_refused_by_the_codec(
    player: VipctlMediaPlayer, peer: Peer
) -> None:
    codec = media_codec()
    for topic in player.state_topics():
        await player.publish(topic, b"\xff{garbage")
        await peer.expect_payload(topic, b"\xff{garbage")
        with pytest.raises(DecodeError):
            codec.decode(topic, b"\xff{garbage")


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
