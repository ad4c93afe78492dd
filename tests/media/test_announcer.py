"""Announcements through the daemon over real mosquitto: one at a time, by priority, with the
background music ducked while they play and back after, each logged as queued and played."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from controller.config.site import load_site
from controller.daemon import Daemon
from controller.engine.announcer import duck_layer
from controller.engine.executor import CLAIMS_KEY
from devices.model import Announcement
from scenes.loader import load_scene
from simulators.site import SiteSimulators
from simulators.vipctl_intercom import VipctlIntercomGateway
from simulators.vipctl_media import VipctlMediaPlayer
from tests.broker import Mosquitto
from tests.scenario.rig import site_file
from tests.waiting import eventually

MUSIC_TOPIC = "vipctl/media/background_music/set"
TEXT = "王先生已到访,请各岗位做好接待工作"  # 17 characters


@asynccontextmanager
async def site(tmp_path: Path, broker: Mosquitto, prefix: str, *, seconds_per_char: float,
               policy: str | None = None,
               ) -> AsyncIterator[tuple[Daemon, VipctlIntercomGateway, VipctlMediaPlayer]]:
    """The demo site; its intercom ducks the music to 10 and speaks `seconds_per_char`."""
    path = site_file(tmp_path, broker, prefix)
    text = path.read_text().replace(
        "    mqtt: {convention: vipctl-intercom, topic: vipctl/intercom/staff}\n",
        "    mqtt: {convention: vipctl-intercom, topic: vipctl/intercom/staff}\n"
        "    duck: {background_music: 10}\n")
    if policy is not None:
        text = text.replace("    command: {confirm_timeout: 5.0, retries: 1, backoff: 0.5, "
                            "max_backoff: 1.0}", f"    command: {policy}")
    path.write_text(text)
    config = load_site(path)
    scene = load_scene(known_targets=set(config.devices) | set(config.groups))
    sims = SiteSimulators(config.devices, host=broker.host, port=broker.port,
                          topic_prefix=prefix)
    intercom, music = sims["staff_intercom"], sims["background_music"]
    assert isinstance(intercom, VipctlIntercomGateway) and isinstance(music, VipctlMediaPlayer)
    intercom.seconds_per_char = seconds_per_char
    async with sims, Daemon(config, scene, speed=600.0) as daemon:
        # P3: the baseline music at its volume first, as at any site.
        await eventually(lambda: music.state.get("playback") == "playing"
                         and music.state.get("volume") == 30)
        yield daemon, intercom, music


def volumes(music: VipctlMediaPlayer) -> list[tuple[float, int]]:
    """(when, volume) of every volume command the music player received."""
    out = []
    for r in music.received:
        if r.topic == MUSIC_TOPIC and "volume" in json.loads(r.payload):
            out.append((r.at, json.loads(r.payload)["volume"]))
    return out


async def test_one_at_a_time_highest_priority_first_never_cut_off(
    tmp_path: Path, mosquitto: Mosquitto, topic_prefix: str
) -> None:
    async with site(tmp_path, mosquitto, topic_prefix, seconds_per_char=0.02) as (
            daemon, intercom, _):
        say = daemon.announcer.say

        async def announce(name: str, priority: int) -> bool:
            return await say("staff_intercom", Announcement(f"t:{name}", f"{name}{TEXT}",
                                                            priority),
                             visit_id=None, step="test")

        first = asyncio.create_task(announce("a", 5))
        await eventually(lambda: bool(intercom.spoken) or intercom.state["speaking"] == "t:a")
        # While "a" is being spoken: a normal one, an urgent one, a minor one.
        rest = [asyncio.create_task(announce(n, p)) for n, p in (("b", 5), ("c", 9), ("d", 1))]
        assert await asyncio.gather(first, *rest) == [True, True, True, True]

        assert [s.id for s in intercom.spoken] == ["t:a", "t:c", "t:b", "t:d"]
        for before, after in zip(intercom.spoken, intercom.spoken[1:], strict=False):
            assert after.start >= before.end  # never two at once
        log = daemon.events.query(kinds=["announcement"], limit=100)
        by_result = {r: [e.detail["id"] for e in reversed(log) if e.result == r]
                     for r in ("queued", "played")}
        assert by_result["queued"] == ["t:a", "t:b", "t:c", "t:d"]
        assert by_result["played"] == ["t:a", "t:c", "t:b", "t:d"]
        played = [e for e in log if e.result == "played"]
        assert all(e.detail["played"] is True for e in played)


async def test_music_ducks_while_announcements_play_and_comes_back(
    tmp_path: Path, mosquitto: Mosquitto, topic_prefix: str
) -> None:
    async with site(tmp_path, mosquitto, topic_prefix, seconds_per_char=0.01) as (
            daemon, intercom, music):
        before = len(volumes(music))
        first_event = daemon.events.query(limit=1)[0].id
        results = await asyncio.gather(*(
            daemon.announcer.say("staff_intercom", Announcement(f"t:{i}", TEXT, 5),
                                     visit_id=None, step="test") for i in range(3)))
        assert results == [True, True, True]
        await eventually(lambda: music.state.get("volume") == 30)
        sent = volumes(music)[before:]
        # Down once before the first word, up once after the last: no pumping in between.
        assert [v for _, v in sent] == [10, 30]
        assert sent[0][0] < intercom.spoken[0].start
        assert sent[1][0] > intercom.spoken[-1].end
        assert music.state["playback"] == "playing"
        # The baseline holds the volume at 30; the duck outranks it, so nothing fought back.
        assert [e for e in daemon.events.query(kinds=["hold_reasserted"], limit=100)
                if e.id > first_event and e.detail["reported"].get("volume") == 10] == []
        assert duck_layer("staff_intercom") not in daemon.executor.claims.layers()


async def test_a_failed_announcement_is_logged_as_failed_and_the_next_goes_on(
    tmp_path: Path, mosquitto: Mosquitto, topic_prefix: str
) -> None:
    async with site(tmp_path, mosquitto, topic_prefix, seconds_per_char=0.005,
                    policy="{confirm_timeout: 0.3, retries: 0}") as (daemon, intercom, _):
        intercom.failing = True
        failed = await daemon.announcer.say(
            "staff_intercom", Announcement("t:x", "测试", 5), visit_id=None, step="test")
        intercom.failing = False
        ok = await daemon.announcer.say(
            "staff_intercom", Announcement("t:y", "测试", 5), visit_id=None, step="test")
        assert (failed, ok) == (False, True)
        results = [(e.detail["id"], e.result) for e in reversed(
            daemon.events.query(kinds=["announcement"], limit=100))]
        assert results == [("t:x", "queued"), ("t:x", "failed"), ("t:y", "queued"),
                           ("t:y", "played")]


async def test_a_duck_left_by_a_crash_is_dropped_at_start(
    tmp_path: Path, mosquitto: Mosquitto, topic_prefix: str
) -> None:
    async with site(tmp_path, mosquitto, topic_prefix, seconds_per_char=0.005) as (
            daemon, _, music):
        claims = daemon.executor.claims
        claims.claim(duck_layer("staff_intercom"), 2000, "background_music", {"volume": 10})
        daemon.db.save_value(CLAIMS_KEY, claims.to_dict())  # as if the daemon died ducked
    async with site(tmp_path, mosquitto, topic_prefix, seconds_per_char=0.005) as (
            daemon, _, music):
        assert duck_layer("staff_intercom") not in daemon.executor.claims.layers()
        assert daemon.executor.claims.effective("background_music")["volume"] == 30
        assert music.state["volume"] == 30


async def test_a_full_queue_refuses_and_logs_it_as_failed(
    tmp_path: Path, mosquitto: Mosquitto, topic_prefix: str
) -> None:
    async with site(tmp_path, mosquitto, topic_prefix, seconds_per_char=0.02) as (
            daemon, intercom, _):
        announcer = daemon.announcer
        # The gateways' queue holds 100; one of 1 shows the same rule without 100 texts.
        announcer.queue_capacity = 1

        def say(name: str) -> asyncio.Task[bool]:
            return asyncio.create_task(daemon.announcer.say(
                "staff_intercom", Announcement(name, TEXT, 5), visit_id=None, step="test"))

        first = say("q1")
        await eventually(lambda: intercom.state["speaking"] == "q1")
        second, third = say("q2"), say("q3")  # q2 waits; q3 finds the queue full
        assert await asyncio.gather(first, second, third) == [True, True, False]
        refused = daemon.events.query(kinds=["announcement"], limit=20)
        assert [(e.detail["id"], e.detail.get("reason")) for e in refused
                if e.result == "failed"] == [("q3", "queue full (1 waiting)")]
        assert [s.id for s in intercom.spoken] == ["q1", "q2"]
