"""`vipctl agent media` over real mosquitto, driven by the daemon like any remote player:
real libVLC (dummy outputs), real espeak-ng, the demo site's other devices simulated."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiomqtt
from typer.testing import CliRunner

from common.yamlconf import ConfigError
from controller.agent.agent import Agent, load_agent
from controller.cli.main import app
from controller.config.site import load_site
from controller.daemon import Daemon
from devices.local.player_device import PlayerDevice
from devices.local.speaker import SpeakerGateway
from devices.model import Announcement
from scenes.loader import load_scene
from simulators.site import SiteSimulators
from tests.broker import Mosquitto
from tests.cli.helpers import group_gone, kill_group, start
from tests.media.clips import tone
from tests.scenario.rig import site_file
from tests.waiting import eventually

PLAYED_BY_AGENT = ("background_music", "staff_intercom")


def agent_file(tmp_path: Path, broker: Mosquitto, prefix: str) -> Path:
    """An agent for the demo site's music and intercom, with music to play."""
    tone(tmp_path / "media" / "music" / "01.wav", 0.2)
    tone(tmp_path / "media" / "music" / "02.wav", 0.2, hz=550)
    path = tmp_path / "agent.yaml"
    path.write_text(f"""\
mqtt: {{url: {broker.url}, topic_prefix: {prefix}, client_id: {prefix}-agent, keepalive: 5}}
players:
  background_music:
    topic: vipctl/media/background_music
    dummy: true
    restart: {{first_delay: 0.05, max_delay: 0.2, check_every: 0.1}}
speakers:
  staff_intercom:
    topic: vipctl/intercom/staff
    dummy: true
    cache_dir: cache
    ptt: {{lead_in: 0, tail: 0.05}}
""")
    return path


@asynccontextmanager
async def agent_and_daemon(tmp_path: Path, broker: Mosquitto, prefix: str,
                           ) -> AsyncIterator[tuple[Agent, Daemon]]:
    agent = Agent(load_agent(agent_file(tmp_path, broker, prefix)))
    path = site_file(tmp_path, broker, prefix)
    path.write_text(path.read_text().replace(
        "    mqtt: {convention: vipctl-intercom, topic: vipctl/intercom/staff}\n",
        "    mqtt: {convention: vipctl-intercom, topic: vipctl/intercom/staff}\n"
        "    duck: {background_music: 10}\n"))
    site = load_site(path)
    scene = load_scene(known_targets=set(site.devices) | set(site.groups))
    others = {d: s for d, s in site.devices.items() if d not in PLAYED_BY_AGENT}
    sims = SiteSimulators(others, host=broker.host, port=broker.port, topic_prefix=prefix)
    await agent.start()
    try:
        async with sims, Daemon(site, scene, speed=600.0) as daemon:
            yield agent, daemon
    finally:
        await agent.stop()


async def test_the_daemon_drives_the_agent_like_any_player(
    tmp_path: Path, mosquitto: Mosquitto, topic_prefix: str
) -> None:
    async with agent_and_daemon(tmp_path, mosquitto, topic_prefix) as (agent, daemon):
        music = agent.devices["background_music"]
        speaker = agent.devices["staff_intercom"]
        assert isinstance(music, PlayerDevice) and isinstance(speaker, SpeakerGateway)
        device = daemon.registry["background_music"]
        # P3, the baseline: the music folder plays, looping, at 30, confirmed by the agent.
        await eventually(lambda: device.state.get("playback") == "playing"
                         and device.state.get("volume") == 30)
        assert device.state["media"] == "media/music" and device.state["error"] == ""
        assert device.available is True
        await eventually(lambda: music.player.starts >= 3)  # two 0.2 s files, looping
        assert music.player.restarts == 0

        # F1 on the agent's speaker: played to its end, the music ducked and back.
        ok = await daemon.announcer.say(
            "staff_intercom", Announcement("v1:f1-arrival:announce",
                                           "王先生已到访,请各岗位做好接待工作", 7),
            visit_id=None, step="f1-arrival")
        assert ok
        assert speaker.spoken_texts() == ["王先生已到访,请各岗位做好接待工作"]
        def ducking() -> list[tuple[str, dict[str, int]]]:
            return [(e.detail["step"], e.detail["desired"]) for e in reversed(
                daemon.events.query(kinds=["confirmed"], device_id="background_music",
                                    limit=50)) if e.detail.get("step") in ("duck", "unduck")]

        await eventually(lambda: len(ducking()) == 2)
        assert ducking() == [("duck", {"volume": 10}), ("unduck", {"volume": 30})]
        assert music.player.volume == 30

        # A clean stop says offline; the daemon sees it.
        await agent.stop()
        await eventually(lambda: device.available is False)


async def test_a_vanished_music_folder_is_logged_and_so_is_its_return(
    tmp_path: Path, mosquitto: Mosquitto, topic_prefix: str
) -> None:
    async with agent_and_daemon(tmp_path, mosquitto, topic_prefix) as (agent, daemon):
        device = daemon.registry["background_music"]
        await eventually(lambda: device.state.get("playback") == "playing")
        folder = tmp_path / "media" / "music"
        away = folder.rename(tmp_path / "media" / "away")
        await eventually(lambda: "no such file or directory" in str(device.state.get("error")))
        assert device.state["playback"] == "stopped"
        away.rename(folder)
        await eventually(lambda: device.state.get("playback") == "playing"
                         and device.state.get("error") == "")
        media = [(e.result, e.detail) for e in reversed(
            daemon.events.query(kinds=["media"], device_id="background_music", limit=20))]
        assert media[0][0] == "failed" and media[-1][0] == "recovered"
        assert any("no such file or directory" in str(d.get("error")) for _, d in media)
        assert agent.devices["background_music"].player.restarts >= 1


async def test_an_agent_plays_its_last_command_again_when_it_starts(
    tmp_path: Path, mosquitto: Mosquitto, topic_prefix: str
) -> None:
    async with agent_and_daemon(tmp_path, mosquitto, topic_prefix) as (_, daemon):
        device = daemon.registry["background_music"]
        await eventually(lambda: device.state.get("playback") == "playing")
    # No daemon now: the agent alone, after a "power cut".
    agent = Agent(load_agent(tmp_path / "agent.yaml"))
    await agent.start()
    try:
        music = agent.devices["background_music"]
        await eventually(lambda: music.player.playback == "playing")
        assert (music.player.media, music.player.volume, music.player.loop_list) == (
            "media/music", 30, True)
    finally:
        await agent.stop()


async def test_an_agent_ignores_a_say_or_a_set_left_retained_on_the_broker(
    tmp_path: Path, mosquitto: Mosquitto, topic_prefix: str
) -> None:
    # Anyone's `mosquitto_pub -r` on a command topic: a retained message is state, never a
    # command, so the agent (and every restart of it) must not act on it.
    say = f"{topic_prefix}/vipctl/intercom/staff/say"
    music_set = f"{topic_prefix}/vipctl/media/background_music/set"
    agent = Agent(load_agent(agent_file(tmp_path, mosquitto, topic_prefix)))
    async with aiomqtt.Client(mosquitto.host, mosquitto.port) as peer:
        await peer.publish(say, '{"id": "old", "text": "王先生已到访"}', qos=1, retain=True)
        await peer.publish(music_set, '{"playback": "playing", "media": "media/music", '
                           '"loop": true, "volume": 5}', qos=1, retain=True)
        await agent.start()
        try:
            speaker, music = agent.devices["staff_intercom"], agent.devices["background_music"]
            # Live ones, sent after the agent subscribed, come after the retained ones.
            await peer.publish(say, '{"id": "new", "text": "李女士已到访"}', qos=1)
            await peer.publish(music_set, '{"volume": 40}', qos=1)
            await eventually(lambda: speaker.spoken_texts() and music.player.volume == 40)
            assert speaker.spoken_texts() == ["李女士已到访"]
            assert music.player.playback == "stopped"
        finally:
            await agent.stop()
            for topic in (say, music_set):
                await peer.publish(topic, b"", qos=1, retain=True)


def test_agent_file_errors_name_file_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "agent.yaml"
    path.write_text("""\
mqtt: {url: mqtt://localhost}
players:
  music:
    topic: vipctl/media/music
    shufle: true
speakers:
  music:
    topic: vipctl/media/music
    speed: 20
""")
    try:
        load_agent(path)
    except ConfigError as exc:
        problems = [str(p) for p in exc.problems]
    else:
        raise AssertionError("loaded")
    assert problems == [
        f"{path}:5: players.music.shufle: unknown field; did you mean 'shuffle'?; allowed: "
        "audio_output, audio_device, dummy, vlc_args, video, sound, fullscreen, screen, "
        "shuffle, media_root, restart, state_file, topic",
        f"{path}:9: speakers.music.speed: Input should be greater than or equal to 80",
    ]
    path.write_text("mqtt: {url: mqtt://localhost}\n")
    result = CliRunner().invoke(app, ["agent", "media", "--config", str(path)])
    assert result.exit_code == 2
    assert result.stderr.strip() == f"{path}:1: an agent needs at least one player or speaker"


async def test_vipctl_agent_media_runs_until_sigterm(
    tmp_path: Path, mosquitto: Mosquitto, topic_prefix: str
) -> None:
    path = agent_file(tmp_path, mosquitto, topic_prefix)
    check = CliRunner().invoke(app, ["agent", "media", "--config", str(path), "--check"])
    assert check.exit_code == 0 and "2 devices" in check.stdout
    topic = f"{topic_prefix}/vipctl/media/background_music/availability"
    seen: list[str] = []
    async with aiomqtt.Client(mosquitto.host, mosquitto.port) as client:
        await client.subscribe(topic, qos=1)
        proc = start("agent", "media", "--config", str(path))
        try:
            async with asyncio.timeout(20):
                async for message in client.messages:
                    seen.append(bytes(message.payload).decode())  # type: ignore[arg-type]
                    if seen[-1] == "online" and proc.poll() is None:
                        proc.send_signal(signal.SIGTERM)
                    if seen[-1] == "offline" and "online" in seen:
                        break
            _, err = await asyncio.to_thread(proc.communicate, timeout=15)
            assert proc.returncode == 0, err
            assert "agent running: background_music, staff_intercom" in err
            assert group_gone(proc)
        finally:
            kill_group(proc)
    assert seen[-2:] == ["online", "offline"]


def test_the_players_state_lives_beside_the_agent_file_by_default(tmp_path: Path) -> None:
    # Not in the working folder: two agents started from one folder (or two tests) would
    # replay each other's last command.
    path = tmp_path / "site" / "agent.yaml"
    path.parent.mkdir()
    path.write_text("mqtt: {url: mqtt://localhost}\n"
                    "players: {music: {topic: vipctl/media/music, dummy: true}}\n")
    assert load_agent(path).state_dir == path.parent / ".vipctl-agent"
