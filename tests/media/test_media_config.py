"""The `local:` block and `duck:` in the site file: what loads, and what is refused where."""

from __future__ import annotations

from pathlib import Path

from controller.config.site import load_site
from devices.local.config import LocalBinding
from tests.sitefiles import HEAD, problems, write


def test_local_players_and_a_speaker_load_with_paths_from_the_file(tmp_path: Path) -> None:
    (tmp_path / "clips").mkdir()
    (tmp_path / "clips" / "arrival.wav").write_bytes(b"RIFF")
    site = load_site(write(tmp_path, HEAD + """\
  background_music:
    kind: media
    local: {player: {shuffle: true}}
  vip_room_video:
    kind: media
    local: {player: {video: true, sound: false, screen: {x: 1920, y: 0}, media_root: media}}
  staff_intercom:
    kind: intercom
    local:
      speaker:
        clips: {"已到访,请各岗位做好接待工作": clips/arrival.wav}
        ptt: {relay: {convention: tasmota, topic: radio_ptt}, lead_in: 0.2, tail: 0.4}
    duck: {background_music: 10, vip_room_video: 20}
"""))
    music, video, intercom = (site.devices[d] for d in
                              ("background_music", "vip_room_video", "staff_intercom"))
    assert isinstance(music.binding, LocalBinding) and music.transport == "local"
    # Two local players share no wire address: no "already uses this address".
    assert music.binding.player is not None and video.binding.player is not None
    assert music.binding.player.media_root == tmp_path  # the site file's folder
    assert video.binding.player.media_root == tmp_path / "media"
    assert video.binding.player.settings().instance_args()[-2:] == ["--video-x=1920",
                                                                   "--video-y=0"]
    assert music.convention == "vipctl-media" and intercom.convention == "vipctl-intercom"
    speaker = intercom.local.speaker if intercom.local else None
    assert speaker is not None
    assert speaker.clips == {"已到访,请各岗位做好接待工作": tmp_path / "clips" / "arrival.wav"}
    assert speaker.ptt.relay is not None and speaker.ptt.relay.convention == "tasmota"
    assert intercom.duck == {"background_music": 10, "vip_room_video": 20}


def test_mistakes_are_named_with_their_line(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD + """\
  hall_lights:
    kind: light
    mqtt: {convention: tasmota, topic: hall}
  music:
    kind: media
    local: {player: {}, speaker: {}}
  staff_intercom:
    kind: intercom
    local:
      speaker:
        clips: {"已到访": missing.wav}
    duck: {hall_lights: 10, nowhere: 5, music: 101}
  lights2:
    kind: light
    local: {player: {}}
    duck: {music: 10}
""")
    assert problems(path) == [
        f"{path}:12: devices.music.local: give exactly one of player (media) or speaker "
        "(intercom)",
        f"{path}:17: devices.staff_intercom.local.speaker.clips.已到访: no such file: "
        f"{tmp_path / 'missing.wav'}",
        f"{path}:18: devices.staff_intercom.duck.music: Input should be less than or equal to "
        "100",
        f"{path}:21: devices.lights2.local.convention: 'vipctl-media' cannot drive a light "
        "(it drives: media)",
        f"{path}:22: devices.lights2.duck: only an intercom ducks the music; this is a light",
    ]


def test_duck_names_media_devices_of_the_site(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD + """\
  hall_lights:
    kind: light
    mqtt: {convention: tasmota, topic: hall}
  staff_intercom:
    kind: intercom
    mqtt: {convention: vipctl-intercom, topic: vipctl/intercom/staff}
    duck: {hall_lights: 10, nowhere: 5}
""")
    assert problems(path) == [
        f"{path}:13: devices.staff_intercom.duck.hall_lights: 'hall_lights' is not a media "
        "device of this site",
        f"{path}:13: devices.staff_intercom.duck.nowhere: 'nowhere' is not a media device of "
        "this site",
    ]


def test_push_to_talk_is_one_way_and_outlasts_its_lead_in_and_tail(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD + """\
  staff_intercom:
    kind: intercom
    local:
      speaker:
        ptt:
          relay: {convention: tasmota, topic: radio_ptt}
          serial: {url: /dev/ttyUSB0}
  other_intercom:
    kind: intercom
    local: {speaker: {ptt: {serial: {url: /dev/ttyUSB1, line: dtr}, lead_in: 1, tail: 1,
                            max_transmit: 2}}}
""")
    assert problems(path) == [
        f"{path}:11: devices.staff_intercom.local.speaker.ptt: give relay or serial, not both",
        f"{path}:17: devices.other_intercom.local.speaker.ptt.max_transmit: must be longer "
        "than lead_in and tail together",
    ]
