"""Media made by the tests themselves (nothing is downloaded): WAV tones, a tiny Y4M video,
and a sink that records what libVLC's audio output was told."""

from __future__ import annotations

import math
import struct
import wave
from pathlib import Path
from typing import Any

import vlc


def tone(path: Path, seconds: float, *, hz: float = 440.0, rate: int = 8000,
         amplitude: float = 0.5) -> Path:
    """A mono 16-bit sine tone."""
    n = int(seconds * rate)
    frames = b"".join(struct.pack("<h", int(amplitude * 32767 * math.sin(2 * math.pi * hz * i
                                                                           / rate)))
                      for i in range(n))
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(frames)
    return path


def y4m(path: Path, frames: int = 3, *, fps: int = 25, size: int = 16) -> Path:
    """A raw YUV4MPEG2 video (libVLC's rawvid demuxer reads it): grey frames, growing lighter."""
    with path.open("wb") as f:
        f.write(f"YUV4MPEG2 W{size} H{size} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for i in range(frames):
            f.write(b"FRAME\n" + bytes([(60 + 50 * i) % 256]) * (size * size)
                    + bytes([128]) * (size * size // 2))
    return path


class VolumeSink:
    """libVLC's memory audio output on a player, recording each volume libVLC applies.

    With the dummy output libVLC reports volume 0 whatever was set; through the memory
    output it calls us with the volume its audio output really uses (0.3 for 30)."""

    def __init__(self, media_player: Any) -> None:
        self.volumes: list[float] = []
        self.samples = 0
        # Kept as attributes: libVLC holds only C pointers to these callbacks.
        self._play = vlc.CallbackDecorators.AudioPlayCb(self._on_play)
        self._volume = vlc.CallbackDecorators.AudioSetVolumeCb(self._on_volume)
        media_player.audio_set_callbacks(self._play, None, None, None, None, None)
        media_player.audio_set_volume_callback(self._volume)
        media_player.audio_set_format("S16N", 8000, 1)

    def _on_play(self, data: Any, samples: Any, count: int, pts: int) -> None:
        self.samples += count  # on libVLC's audio thread: count only, call nothing back

    def _on_volume(self, data: Any, volume: float, mute: bool) -> None:
        self.volumes.append(round(volume, 3))

    def last(self) -> float | None:
        return self.volumes[-1] if self.volumes else None
