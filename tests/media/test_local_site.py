"""The daemon playing the site's media itself (`local:`): the same Device and codec as for a
remote agent, over an in-process loopback; real libVLC and espeak-ng, the rest simulated."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from controller.config.site import load_site
from controller.daemon import Daemon
from devices.conventions.vipctl_media import VipctlMediaCodec
from devices.local.loopback import LoopbackTransport
from devices.model import Announcement
from scenes.loader import load_scene
from simulators.site import SiteSimulators
from tests.broker import Mosquitto
from tests.media.clips import VolumeSink, tone, y4m
from tests.scenario.rig import site_file
from tests.waiting import eventually

LOCAL = {
    "background_music": "    local: {player: {dummy: true}}\n",
    "vip_room_video": "    local: {player: {video: true, sound: false, dummy: true}}\n",
    "staff_intercom": ("    local: {speaker: {dummy: true, cache_dir: cache, "
                       "ptt: {lead_in: 0, tail: 0.05}}}\n    duck: {background_music: 10}\n"),
}
PROMO = {"power": True, "media": "media/promo.mp4", "loop": True, "playback": "playing"}


@asynccontextmanager
async def local_site(tmp_path: Path, broker: Mosquitto, prefix: str) -> AsyncIterator[Daemon]:
    tone(tmp_path / "media" / "music" / "01.wav", 0.2)
    # The scene names media/promo.mp4; libVLC goes by the content, here a raw Y4M clip.
    y4m(tmp_path / "media" / "promo.mp4", frames=3)
    path = site_file(tmp_path, broker, prefix)
    text = path.read_text()
    for device, block in LOCAL.items():  # their mqtt: lines become local: blocks
        convention = "intercom" if device == "staff_intercom" else "media"
        topic = "vipctl/intercom/staff" if device == "staff_intercom" else f"vipctl/media/{device}"
        line = f"    mqtt: {{convention: vipctl-{convention}, topic: {topic}}}\n"
        assert line in text
        text = text.replace(line, block)
    path.write_text(text)
    site = load_site(path)
    scene = load_scene(known_targets=set(site.devices) | set(site.groups))
    others = {d: s for d, s in site.devices.items() if d not in LOCAL}
    async with SiteSimulators(others, host=broker.host, port=broker.port, topic_prefix=prefix), \
            Daemon(site, scene, speed=600.0) as daemon:
        yield daemon


async def test_local_players_and_speaker_through_the_same_capability(
    tmp_path: Path, mosquitto: Mosquitto, topic_prefix: str
) -> None:
    async with local_site(tmp_path, mosquitto, topic_prefix) as daemon:
        device = daemon.registry["background_music"]
        # Same Device, same vipctl-media codec as a remote player; only the transport differs.
        assert isinstance(device.codec, VipctlMediaCodec)
        assert isinstance(device.transport, LoopbackTransport)
        music = daemon.local.players["background_music"].player
        await eventually(lambda: device.state.get("playback") == "playing"
                         and device.state.get("volume") == 30 and music.starts >= 2)
        sink = VolumeSink(music.libvlc_player)  # from the next loop on, libVLC tells us
        await eventually(lambda: sink.last() == 0.3 and sink.samples > 0)

        # P11 through the executor, as the cue does: the promo loops on the local video player.
        results = await daemon.executor.apply("visit:t", 50, "vip_room_video", PROMO,
                                              hold=False, visit_id=None, step="p11")
        assert [r.ok for r in results] == [True]
        video = daemon.local.players["vip_room_video"].player
        await eventually(lambda: video.starts >= 3)
        assert video.libvlc_player.video_get_size() == (16, 16)

        # F1 on the local speaker: played, with the music turned down at libVLC's output
        # while it speaks, and back up after.
        ok = await daemon.announcer.say(
            "staff_intercom", Announcement("v:f1", "王先生已到访", 7), visit_id=None, step="f1")
        assert ok
        speaker = daemon.local.speakers["staff_intercom"]
        assert speaker.spoken_texts() == ["王先生已到访"]
        await eventually(lambda: sink.last() == 0.3 and 0.1 in sink.volumes)
        assert sink.volumes[sink.volumes.index(0.1) - 1] == 0.3
        assert daemon.registry["staff_intercom"].state["announced"] == "v:f1"
    # Stopped with the daemon: nothing of libVLC is left playing.
    assert music.libvlc_player is None and video.libvlc_player is None
