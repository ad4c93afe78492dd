"""The vipctl-media simulator (and both simulators' availability) over a real mosquitto,
seen by a plain client.

The peer sends what docs/conventions-vipctl.md documents and asserts what the specification
says comes back: on which topic, retained or not, in which order.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest

from devices.errors import DecodeError
from devices.model import Message, StateValue, matches
from simulators import vipctl_intercom, vipctl_media
from simulators.vipctl_media import VipctlMediaPlayer
from tests.broker import Mosquitto
from tests.contract.vipctl.peer import (
    INTERCOM,
    MEDIA,
    MT,
    PAST_THE_END_S,
    PLAYED_S,
    Peer,
    connect_peer,
    media_codec,
)
from tests.waiting import WAIT_S, always, eventually

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
