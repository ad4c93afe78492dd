"""Speech with espeak-ng, and the local speaker: Mandarin through pinyin, a cache, clips for
the fixed phrases, push-to-talk on an MQTT relay (a simulated Tasmota plug on mosquitto),
audio through libVLC to its end before `done`."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from devices.conventions.registry import make_codec
from devices.conventions.tasmota import TasmotaOptions
from devices.conventions.vipctl_intercom import VipctlIntercomOptions
from devices.device import Device
from devices.kinds import make_device
from devices.local.build import build_speaker
from devices.local.config import LOCAL_TOPIC, SpeakerOptions
from devices.local.loopback import LoopbackTransport
from devices.local.ptt_relay import RelayPolicy, RelayPtt
from devices.local.settings import KeepPlaying, VlcSettings
from devices.local.speaker import Segment, SpeakerGateway, segments
from devices.local.tts import Tts, inspect_wav, spoken_form
from devices.local.vlc_player import VlcPlayer
from devices.model import Announcement
from devices.transports.mqtt import MqttSettings, MqttTransport
from simulators.ptt import PttLineObserver
from simulators.tasmota import TasmotaRelay
from tests.broker import Mosquitto
from tests.media.clips import VolumeSink, tone
from tests.waiting import eventually

F1 = "王先生已到访,请各岗位做好接待工作"
ARRIVAL = "已到访,请各岗位做好接待工作"


async def test_a_chinese_announcement_becomes_a_wav_of_plausible_length(tmp_path: Path) -> None:
    tts = Tts(tmp_path / "cache")
    assert spoken_form(F1, "zh") == ("wang2 xian1 sheng1 yi3 dao4 fang3 , qing3 ge4 gang3 wei4 "
                                     "zuo4 hao3 jie1 dai4 gong1 zuo4")
    wav = await tts.wav(F1, "zh")
    info = inspect_wav(wav)
    # 17 syllables and a pause: espeak-ng reads 2-6 syllables a second (a radio voice ~4).
    assert 17 / 6 < info.duration < 17 / 2, info
    assert info.rms > 0.03  # speech, not silence
    assert (info.rate, info.channels) == (22050, 1)
    # Cached by text: the same text is not synthesised again; another text is.
    assert await tts.wav(F1, "zh") == wav and tts.made == 1
    other = await tts.wav("李女士已到访,请各岗位做好接待工作", "zh")
    assert other != wav and tts.made == 2
    english = inspect_wav(await tts.wav("Mister Wang has arrived.", "en"))
    assert 0.8 < english.duration < 4.0 and english.rms > 0.03


async def test_text_never_reaches_the_command_line(tmp_path: Path) -> None:
    tts = Tts(tmp_path / "cache")
    wav = await tts.wav(f"-w {tmp_path}/owned.wav --help O'Brien \"#1\"\n先生", "zh")
    assert inspect_wav(wav).duration > 0.5
    assert not (tmp_path / "owned.wav").exists()


def test_clips_for_the_fixed_phrases_speech_for_the_name(tmp_path: Path) -> None:
    clip, long = tmp_path / "arrival.wav", tmp_path / "arrival_long.wav"
    assert segments(F1, {ARRIVAL: clip}) == [Segment("王先生"), Segment(ARRIVAL, clip)]
    # The longest phrase wins; text around and between clips is spoken.
    assert segments("请注意,李女士已到访,请各岗位做好接待工作。谢谢",
                    {"已到访": clip, ARRIVAL: long}) == [
        Segment("请注意,李女士"), Segment(ARRIVAL, long), Segment("。谢谢")]
    assert segments(F1, {}) == [Segment(F1)]


@asynccontextmanager
async def speaker_rig(tmp_path: Path, broker: Mosquitto, prefix: str, *,
                      clips: dict[str, Path] | None = None,
                      relay_policy: RelayPolicy | None = None, sink: bool = False,
                      ) -> AsyncIterator[tuple[Device, SpeakerGateway, TasmotaRelay, RelayPtt,
                                               VolumeSink | None]]:
    """A local speaker keyed through a simulated Tasmota plug, and the controller's Device for
    it on the same in-process loopback the daemon uses."""
    relay_options = TasmotaOptions(convention="tasmota", topic="radio_ptt")
    plug = TasmotaRelay("radio_ptt", relay_options, host=broker.host, port=broker.port,
                        topic_prefix=prefix)
    mqtt = MqttTransport(MqttSettings(host=broker.host, port=broker.port,
                                      client_id=f"{prefix}-speaker", topic_prefix=prefix))
    relay = make_device("radio_ptt", kind="switch", transport=mqtt,
                   policy=relay_policy or RelayPolicy(),
                   codec=make_codec("radio_ptt", "switch", relay_options))
    relay.attach()
    ptt = RelayPtt(relay, lead_in=0.1, tail=0.1, max_transmit=10)
    bus = LoopbackTransport()
    player = VlcPlayer("speaker.audio", settings=VlcSettings(dummy=True),
                       keep_playing=KeepPlaying(enabled=False))
    speaker = SpeakerGateway("staff_intercom", LOCAL_TOPIC, transport=bus,
                             tts=Tts(tmp_path / "cache"), player=player, ptt=ptt,
                             clips=clips, own_availability=True)
    options = VipctlIntercomOptions(convention="vipctl-intercom", topic=LOCAL_TOPIC)
    policy = RelayPolicy(confirm_timeout=5.0, retries=0)
    intercom = make_device("staff_intercom", kind="intercom", transport=bus, policy=policy,
                      codec=make_codec("staff_intercom", "intercom", options))
    intercom.attach()
    await plug.start()
    await mqtt.start()
    await mqtt.wait_connected(5)
    bus.connect()
    await speaker.start()
    # What reaches the audio output, counted (libVLC's memory output paces like a real one;
    # the dummy output is faster).
    audio = VolumeSink(player.libvlc_player) if sink else None
    try:
        yield intercom, speaker, plug, ptt, audio
    finally:
        await speaker.stop()
        await mqtt.close()
        await plug.stop()


async def test_the_speaker_keys_the_radio_plays_name_then_clip_and_only_then_says_done(
    tmp_path: Path, mosquitto: Mosquitto, topic_prefix: str
) -> None:
    clip = tone(tmp_path / "clips" / "arrival.wav", 0.6)
    async with speaker_rig(tmp_path, mosquitto, topic_prefix, clips={ARRIVAL: clip},
                           sink=True) as (intercom, speaker, plug, ptt, sink):
        assert sink is not None
        await eventually(lambda: intercom.available is True)
        result = await intercom.announce(Announcement("visit-42/arrival", F1, 7))
        assert result.ok  # confirmed by `announced`, which comes only after the audio
        assert intercom.state["announced"] == "visit-42/arrival"

        [spoken] = speaker.spoken
        name_wav, played_clip = spoken.files
        assert played_clip == clip
        assert 0.3 < inspect_wav(name_wav).duration < 2.0  # "王先生", from espeak-ng
        assert spoken.audio_s == inspect_wav(name_wav).duration + 0.6
        # Every sample of both files went to libVLC's audio output (8 kHz there).
        assert sink.samples >= 0.95 * spoken.audio_s * 8000
        assert sink.last() == 1.0  # the speaker's volume: 100

        # Keyed (ON) before the audio, released (OFF) after it, for lead-in + tail at least.
        power = [(r.at, r.payload) for r in plug.received  # (an empty one is a query)
                 if r.topic.endswith("/POWER") and r.payload]
        assert [p for _, p in power] == ["ON", "OFF"]
        assert spoken.start <= power[0][0] and power[1][0] <= spoken.end
        assert ptt.keyed_for[0] >= 0.2 and plug.state["power"] is False


async def test_the_speaker_speaks_one_at_a_time_by_priority(
    tmp_path: Path, mosquitto: Mosquitto, topic_prefix: str
) -> None:
    async with speaker_rig(tmp_path, mosquitto, topic_prefix) as (intercom, speaker, _, _, _):
        codec = intercom.codec
        messages = [codec.announce(Announcement(f"a{i}", text, priority))[0]
                    for i, (text, priority) in enumerate((("甲", 5), ("乙", 1), ("丙", 9)))]
        # Straight onto the gateway's topic: the first, then two more while it speaks.
        await intercom.transport.publish(messages[0].topic, messages[0].payload)
        await eventually(lambda: speaker.state["speaking"] == "a0")
        for m in messages[1:]:
            await intercom.transport.publish(m.topic, m.payload)
        await eventually(lambda: len(speaker.spoken) == 3)
        assert [s.id for s in speaker.spoken] == ["a0", "a2", "a1"]
        for before, after in zip(speaker.spoken, speaker.spoken[1:], strict=False):
            assert after.start >= before.end
        # A re-sent id is answered, never said twice.
        answers: list[dict[str, Any]] = []
        intercom.transport.subscribe(f"{LOCAL_TOPIC}/event",
                                     lambda _, p, __: answers.append(json.loads(p)))
        await intercom.transport.publish(messages[0].topic, messages[0].payload)
        await eventually(lambda: [a for a in answers if a["id"] == "a0" and a.get("duplicate")])
        assert len(speaker.spoken) == 3


async def test_a_relay_that_does_not_key_means_nothing_is_said(
    tmp_path: Path, mosquitto: Mosquitto, topic_prefix: str
) -> None:
    quick = RelayPolicy(confirm_timeout=0.3, retries=0)
    async with speaker_rig(tmp_path, mosquitto, topic_prefix, relay_policy=quick) as (
            _, speaker, plug, _, _):
        plug.faults.ignore_commands = True  # the plug is there but does not switch
        error = await speaker.say(Announcement("x", "测试", 5))
        assert error.startswith("push-to-talk: radio_ptt did not key")
        assert speaker.spoken == []


async def test_a_speaker_keys_a_serial_ptt_line_from_its_options(tmp_path: Path) -> None:
    radio = PttLineObserver("rts")
    options = SpeakerOptions.model_validate({
        "dummy": True, "cache_dir": str(tmp_path / "cache"),
        "ptt": {"serial": {"url": radio.url, "line": "rts"}, "lead_in": 0.05, "tail": 0.05}})
    bus = LoopbackTransport()
    speaker = build_speaker("staff_intercom", options, base=LOCAL_TOPIC, transport=bus,
                            relay_transport=None)
    bus.connect()
    await speaker.start()
    try:
        assert not radio.ever_keyed()  # opening the port did not key the radio
        assert await speaker.say(Announcement("s1", "测试", 5)) == ""
    finally:
        await speaker.stop()
    [spoken] = speaker.spoken
    [(keyed_at, seconds)] = radio.transmissions()
    assert spoken.start <= keyed_at and keyed_at + seconds <= spoken.end
    assert seconds >= 0.1  # lead-in and tail at least
    assert not radio.keyed
