"""The options of a local player or speaker, as written in a site file's `local:` block or in
an agent file (controller/agent.py). Validated once, at load; docs/media.md lists them.

    background_music:
      kind: media
      local:
        player: {shuffle: true, media_root: /srv/media}
    staff_intercom:
      kind: intercom
      local:
        speaker:
          ptt: {relay: {convention: tasmota, topic: radio_ptt}, lead_in: 0.3, tail: 0.5}
          clips: {"已到访,请各岗位做好接待工作": clips/arrival.wav}

Relative paths are relative to the file's folder (the `base_dir` of the validation context).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from common.yamlconf import FieldError
from devices.conventions.base import ConventionOptions, WireAddress
from devices.conventions.ptt import SerialPttLine
from devices.conventions.tasmota import TasmotaOptions
from devices.conventions.zigbee2mqtt import Zigbee2MqttOptions
from devices.local.settings import DEFAULT_SPEED, MAX_AUDIO_S, KeepPlaying, VlcSettings

# A relay for the PTT: a switch in a convention that reports its state.
RelayBinding = Annotated[TasmotaOptions | Zigbee2MqttOptions, Field(discriminator="convention")]
# Where cached speech goes when the file does not say.
DEFAULT_TTS_CACHE = Path("~/.cache/vipctl/tts")
# The topic a local device uses on its own in-process bus (each has a bus of its own).
LOCAL_TOPIC = "local"

# Push-to-talk timings (seconds), tuned per site to its radios (docs/media.md).
LEAD_IN_S = 0.3
TAIL_S = 0.5
MAX_TRANSMIT_S = 60.0  # a stuck transmitter blocks the whole channel: cap it

Seconds = Annotated[float, Field(ge=0, le=600, allow_inf_nan=False)]
Percent = Annotated[int, Field(ge=0, le=100)]


class _Options(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _resolve(value: Path, info: ValidationInfo) -> Path:
    value = value.expanduser()
    base = Path((info.context or {}).get("base_dir") or Path.cwd())
    return value if value.is_absolute() else base / value


class Screen(_Options):
    """The top-left corner of the monitor the video fills (VLC's --video-x/--video-y)."""

    x: int = 0
    y: int = 0


class Restart(_Options):
    """How a player that should be playing comes back after a stop or failure."""

    first_delay: Annotated[float, Field(gt=0, le=60, allow_inf_nan=False)] = 0.5
    max_delay: Annotated[float, Field(gt=0, le=600, allow_inf_nan=False)] = 30.0
    check_every: Annotated[float, Field(gt=0, le=60, allow_inf_nan=False)] = 2.0

    def policy(self) -> KeepPlaying:
        return KeepPlaying(first_delay=self.first_delay,
                           max_delay=max(self.max_delay, self.first_delay),
                           check_every=self.check_every)


class _Output(_Options):
    audio_output: str | None = None  # libVLC audio module: alsa, pulse, ...; None: default
    audio_device: str | None = None  # that module's device, e.g. hw:CARD=Device,DEV=0
    dummy: bool = False  # libVLC's dummy outputs: no sound, no picture (tests, headless)
    vlc_args: list[str] = Field(default_factory=list)  # any other libVLC arguments


class PlayerOptions(_Output):
    """A media player: background music (sound only) or a video on a display."""

    video: bool = False  # False: sound only, never a window (music)
    sound: bool = True  # a video's sound; false plays it muted
    fullscreen: bool = True
    screen: Screen | None = None  # which monitor, on a PC with several
    shuffle: bool = False  # a folder or playlist in random order (new order each load)
    # Relative media are looked up here; default: the folder of the file that says this.
    media_root: Path | None = Field(default=None, validate_default=True)
    restart: Restart = Restart()
    state_file: Path | None = None  # keeps the last command, applied again at start

    @field_validator("media_root", "state_file")
    @classmethod
    def _relative_to_file(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        if value is None:
            base = (info.context or {}).get("base_dir")
            return Path(base) if base and info.field_name == "media_root" else None
        return _resolve(value, info)

    def root(self, base: Path) -> Path:
        return self.media_root or base

    def settings(self) -> VlcSettings:
        screen = (self.screen.x, self.screen.y) if self.screen else None
        return VlcSettings(video=self.video, sound=self.sound, fullscreen=self.fullscreen,
                           screen=screen, audio_output=self.audio_output,
                           audio_device=self.audio_device, dummy=self.dummy,
                           args=tuple(self.vlc_args))


class PttOptions(_Options):
    """Push-to-talk: what keys the radio while an announcement plays into it; neither relay
    nor serial: nothing is keyed (a PA amplifier), only the lead-in and tail are kept."""

    relay: RelayBinding | None = None  # an MQTT relay across the radio's PTT
    serial: SerialPttLine | None = None  # RTS or DTR of a serial port (devices/transports/)
    lead_in: Seconds = LEAD_IN_S  # after keying, before the audio
    tail: Seconds = TAIL_S  # after the audio, before unkeying
    max_transmit: Annotated[float, Field(gt=0, le=600, allow_inf_nan=False)] = MAX_TRANSMIT_S

    @model_validator(mode="after")
    def _one_way(self) -> PttOptions:
        if self.relay is not None and self.serial is not None:
            raise FieldError("give relay or serial, not both")
        if self.max_transmit <= self.lead_in + self.tail:
            raise FieldError("must be longer than lead_in and tail together",
                             at=("max_transmit",))
        return self


class SpeakerOptions(_Output):
    """A speaker: announcements spoken (or played from clips) into the radio's audio input."""

    speed: Annotated[int, Field(ge=80, le=450)] = DEFAULT_SPEED  # espeak-ng, words per minute
    volume: Percent = 100
    cache_dir: Path = DEFAULT_TTS_CACHE
    clips: dict[Annotated[str, Field(min_length=1)], Path] = Field(default_factory=dict)
    ptt: PttOptions = PttOptions()
    max_audio: Annotated[float, Field(gt=0, le=600, allow_inf_nan=False)] = MAX_AUDIO_S

    @field_validator("cache_dir")
    @classmethod
    def _cache_relative_to_file(cls, value: Path, info: ValidationInfo) -> Path:
        return _resolve(value, info)

    @field_validator("clips")
    @classmethod
    def _clips_exist(cls, clips: dict[str, Path], info: ValidationInfo) -> dict[str, Path]:
        resolved, problems = {}, []
        for phrase, path in clips.items():
            full = _resolve(path, info)
            if not full.is_file():
                problems.append(FieldError(f"no such file: {full}", at=(phrase,)))
            resolved[phrase] = full
        if problems:
            raise FieldError.many(problems)
        return resolved

    def settings(self) -> VlcSettings:
        return VlcSettings(audio_output=self.audio_output, audio_device=self.audio_device,
                           dummy=self.dummy, args=tuple(self.vlc_args))


class LocalBinding(ConventionOptions):
    """A site device the daemon plays itself: exactly one of `player` or `speaker`.

    On its in-process bus it speaks the convention of its kind, so the controller drives it
    with the very codec it drives a remote agent with."""

    player: PlayerOptions | None = None
    speaker: SpeakerOptions | None = None

    @property
    def convention(self) -> Literal["vipctl-media", "vipctl-intercom"]:
        return "vipctl-media" if self.player is not None else "vipctl-intercom"

    @property
    def topic(self) -> str:
        return LOCAL_TOPIC

    def wire_address(self) -> WireAddress:
        """In-process: each local device has a bus of its own, so nothing is shared."""
        what = "player" if self.player is not None else "speaker"
        return WireAddress("local", f"local {what}", (id(self),))

    @model_validator(mode="after")
    def _one(self) -> LocalBinding:
        if (self.player is None) == (self.speaker is None):
            raise FieldError("give exactly one of player (media) or speaker (intercom)")
        return self
