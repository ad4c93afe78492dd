"""Fixtures of the vipctl simulator tests: the peer, and a player or a gateway it has seen start."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from simulators import vipctl_intercom
from simulators.vipctl_intercom import VipctlIntercomGateway
from simulators.vipctl_media import VipctlMediaPlayer
from tests.broker import Mosquitto
from tests.contract.vipctl.peer import INTERCOM, IT, MEDIA, MT, Peer, connect_peer


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
