"""The plain settings of a libVLC player, apart from libVLC itself.

The site file's and the agent file's models (devices/local/config.py) build these; keeping
them free of `import vlc` means a site without local media loads without libVLC installed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Always: no interface, no title over the video, no chatter on stderr.
BASE_ARGS = ("--intf=dummy", "--no-video-title-show", "--quiet")
# Headless: libVLC's dummy outputs (tests, a box without sound). They run faster than real
# time and report volume 0, which is why nothing here reads the volume back from libVLC.
DUMMY_ARGS = ("--aout=adummy", "--vout=vdummy")
# Words per minute for espeak-ng: its default is 175; a little slower carries better over
# a radio.
DEFAULT_SPEED = 150
# The longest announcement a speaker plays at all (seconds).
MAX_AUDIO_S = 120.0


@dataclass(frozen=True, slots=True)
class VlcSettings:
    """How one player's libVLC is set up."""

    video: bool = False  # shows pictures (the promo); False: sound only, never a window
    sound: bool = True  # False: the video plays muted (its audio track is not even opened)
    fullscreen: bool = True
    screen: tuple[int, int] | None = None  # top-left of the monitor to fill (--video-x/-y)
    audio_output: str | None = None  # libVLC audio module (alsa, pulse, adummy); None: default
    audio_device: str | None = None  # that module's device id, e.g. an ALSA card
    dummy: bool = False  # libVLC's dummy audio and video outputs
    args: tuple[str, ...] = ()  # any other libVLC arguments

    def instance_args(self) -> list[str]:
        args = [*BASE_ARGS, *(DUMMY_ARGS if self.dummy else ())]
        if self.screen is not None:
            args += [f"--video-x={self.screen[0]}", f"--video-y={self.screen[1]}"]
        return [*args, *self.args]


@dataclass(frozen=True, slots=True)
class KeepPlaying:
    """The "always on" policy: restart after a stop or failure, waiting longer each time."""

    enabled: bool = True
    first_delay: float = 0.5  # seconds before the first restart
    max_delay: float = 30.0  # the longest wait between two restarts
    check_every: float = 2.0  # seconds between two looks at a player that should be playing
    stable_after: float = 5.0  # playing this long resets the delay to first_delay


@dataclass(frozen=True, slots=True)
class PlayerEvent:
    """Something the player did on its own: started (an item began), ended (the list ended,
    not looping), failed, restarting, recovered."""

    kind: str
    detail: dict[str, Any] = field(default_factory=dict)
