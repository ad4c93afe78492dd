"""`vipctl demo --real-media`: the demo site's music, promo video and intercom played for real.

The three media devices of config/demo.yaml are played by the daemon itself (`local:`):
libVLC loops a generated music folder and a generated promo clip, and every announcement is
spoken by espeak-ng (Mandarin through pinyin) and played through libVLC, with the music ducked.
By default through the machine's own sound and display; `--dummy-outputs` uses libVLC's dummy
outputs (a box without either). Nothing is downloaded: the media are made here.
"""

from __future__ import annotations

import math
import shutil
import struct
import wave
from pathlib import Path
from typing import Any

from controller.config.site import SiteConfig
from devices.config import DeviceConfig
from devices.local.tts import inspect_wav

# The demo site's devices played locally, and the intercom's ducking of the music.
MUSIC, VIDEO, INTERCOM = "background_music", "vip_room_video", "staff_intercom"
DUCK_VOLUME = 10
# The generated music: a slow pentatonic phrase (Hz), each note this long, at this rate.
TUNE_HZ = (392.0, 440.0, 523.3, 587.3, 659.3, 587.3, 523.3, 440.0)
NOTE_S = 0.4
RATE = 22050
# The generated promo: a tiny raw YUV4MPEG2 clip; libVLC goes by its content, so the scene's
# media/promo.mp4 name can stay.
PROMO_FRAMES, PROMO_FPS, PROMO_SIZE = 50, 25, 64
# With dummy outputs nobody hears the radio: the speaker plays this many times faster, so six
# announcements (about 40 s of speech) do not hold the demo up. Their audio is unchanged.
DUMMY_RATE = 4


def libvlc_problem() -> str | None:
    """Why real media cannot be played here, or None."""
    try:
        import vlc
    except (ImportError, OSError) as exc:
        return f"libVLC is not usable ({exc}); on Debian: apt install libvlc5 vlc-plugin-base"
    instance = vlc.Instance("--intf=dummy", "--quiet")
    if instance is None:
        return "libVLC did not start; on Debian: apt install libvlc5 vlc-plugin-base"
    instance.release()
    if shutil.which("espeak-ng") is None:
        return "espeak-ng is not installed; on Debian: apt install espeak-ng"
    return None


def make_media(root: Path) -> None:
    """root/media/music/*.wav and root/media/promo.mp4, as the scene names them."""
    music = root / "media" / "music"
    music.mkdir(parents=True, exist_ok=True)
    for i, part in enumerate((TUNE_HZ[:4], TUNE_HZ[4:]), start=1):
        _tune(music / f"{i:02d}.wav", part)
    _promo(root / "media" / "promo.mp4")


def with_real_media(site: SiteConfig, root: Path, *, dummy: bool) -> SiteConfig:
    """The site with its music, video and intercom played by the daemon itself."""
    players: dict[str, dict[str, Any]] = {
        MUSIC: {"player": {"media_root": str(root), "dummy": dummy}},
        VIDEO: {"player": {"media_root": str(root), "dummy": dummy, "video": True}},
        INTERCOM: {"speaker": {"cache_dir": str(root / "tts"), "dummy": dummy,
                               "vlc_args": [f"--rate={DUMMY_RATE}"] if dummy else [],
                               "ptt": {"lead_in": 0.1, "tail": 0.3}}},
    }
    devices = dict(site.devices)
    for device_id, local in players.items():
        was = site.devices[device_id].model_dump(exclude_unset=True, exclude={"mqtt"})
        if device_id == INTERCOM:
            was["duck"] = {MUSIC: DUCK_VOLUME}
        devices[device_id] = DeviceConfig.model_validate({**was, "local": local})
    return site.model_copy(update={"devices": devices})


def simulated(site: SiteConfig) -> dict[str, DeviceConfig]:
    """The devices left to the simulators."""
    return {d: spec for d, spec in site.devices.items() if spec.local is None}


def played(daemon: Any) -> list[str]:
    """What the local speaker played, with the length of each announcement's audio."""
    speaker = daemon.local.speakers[INTERCOM]
    return [f"{s.text} ({s.audio_s:.1f} s of audio)" for s in speaker.spoken]


def report(daemon: Any) -> list[str]:
    """One line per local player: what it played, how often it looped, any restart."""
    lines = []
    for device_id, device in daemon.local.players.items():
        p = device.player
        media = p.media or "(nothing loaded)"
        lines.append(f"{device_id}: {media} {p.playback}, {p.starts} items begun (loops), "
                     f"{p.restarts} restarts, volume {p.volume}")
    for spoken in daemon.local.speakers[INTERCOM].spoken[:1]:
        info = inspect_wav(spoken.files[0])
        lines.append(f"{INTERCOM}: first announcement {info.duration:.2f} s of speech "
                     f"(rms {info.rms:.3f}) in {spoken.files[0].name}")
    return lines


def _tune(path: Path, notes: tuple[float, ...]) -> None:
    frames = bytearray()
    n = int(NOTE_S * RATE)
    for hz in notes:
        for i in range(n):
            fade = min(1.0, i / 400, (n - i) / 400)  # no clicks between notes
            frames += struct.pack("<h", int(9000 * fade * math.sin(2 * math.pi * hz * i / RATE)))
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(bytes(frames))


def _promo(path: Path) -> None:
    size = PROMO_SIZE
    with path.open("wb") as f:
        f.write(f"YUV4MPEG2 W{size} H{size} F{PROMO_FPS}:1 Ip A1:1 C420jpeg\n".encode())
        for i in range(PROMO_FRAMES):
            luma = bytes((x * 4 + i * 5) % 256 for x in range(size)) * size  # a moving ramp
            f.write(b"FRAME\n" + luma + bytes([128]) * (size * size // 2))
