"""Text to speech with espeak-ng, cached by text: what the speaker plays into the radio.

Mandarin goes through pinyin. Debian's espeak-ng 1.51 reads Hanzi wrongly with its plain `cmn`
voice (it falls back to English letter names for many characters, a known upstream problem),
while its `cmn-latn-pinyin` voice reads tone-numbered pinyin correctly; pypinyin makes that
pinyin ("王先生" → "wang2 xian1 sheng1", picking the reading of polyphones from its phrase
dictionary). English goes to the `en` voice as is. The text reaches espeak-ng on its standard
input, never on its command line, so no guest name can ever become an option.
"""

from __future__ import annotations

import array
import asyncio
import contextlib
import hashlib
import math
import os
import re
import shutil
import sys
import wave
from dataclasses import dataclass
from pathlib import Path

from devices.errors import DeviceError
from devices.local.settings import DEFAULT_SPEED

ESPEAK = "espeak-ng"
# espeak-ng voice per announcement language (devices.conventions.vipctl_intercom.LANGS).
VOICES = {"zh": "cmn-latn-pinyin", "en": "en"}
# Synthesis of one announcement takes well under a second; a hung espeak-ng is killed.
SYNTH_TIMEOUT_S = 30.0
# WAV files kept in the cache; the oldest unused go first (each guest's name makes new ones).
CACHE_FILES = 500
# Bumped when the spoken form changes, so that old cached files are not played for new ones.
CACHE_VERSION = "1"
# Full-width punctuation → ASCII, so that espeak-ng pauses where a reader would.
_PUNCTUATION = str.maketrans({"，": ",", "、": ",", "。": ".", "！": "!", "？": "?", "；": ";",
                              "：": ":", "（": "(", "）": ")", "“": '"', "”": '"', "‘": "'",
                              "’": "'", "…": "...", "—": "-", "　": " "})
_SPACES = re.compile(r"\s+")


class TtsError(DeviceError):
    """Speech could not be made (espeak-ng missing, failed, or timed out)."""


@dataclass(frozen=True, slots=True)
class WavInfo:
    duration: float  # seconds
    rms: float  # root mean square of the samples, 0-1 of full scale
    rate: int
    channels: int


def spoken_form(text: str, lang: str) -> str:
    """What espeak-ng is given: tone-numbered pinyin for Mandarin, the text for English."""
    text = text.translate(_PUNCTUATION)
    if lang == "zh":
        from pypinyin import Style, lazy_pinyin  # the media extra; loaded when first needed

        # Non-Hanzi runs (a Latin name, digits) pass through as they are.
        parts = lazy_pinyin(text, style=Style.TONE3, neutral_tone_with_five=True)
        text = " ".join(p.strip() for p in parts if p.strip())
    return _SPACES.sub(" ", text).strip()


class Tts:
    """espeak-ng behind a cache of WAV files keyed by voice, speed and the spoken form."""

    def __init__(self, cache_dir: Path, *, speed: int = DEFAULT_SPEED,
                 espeak: str = ESPEAK) -> None:
        self.cache_dir = cache_dir
        self.speed = speed
        self.espeak = espeak
        self.made = 0  # files synthesised (not served from the cache), for tests and logs

    def available(self) -> bool:
        return shutil.which(self.espeak) is not None

    def path_for(self, text: str, lang: str) -> Path:
        voice = _voice(lang)
        key = "\0".join((CACHE_VERSION, voice, str(self.speed), spoken_form(text, lang)))
        return self.cache_dir / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.wav"

    async def wav(self, text: str, lang: str) -> Path:
        """A WAV file saying `text`, from the cache or made now."""
        path = self.path_for(text, lang)
        if path.exists():
            with contextlib.suppress(OSError):
                os.utime(path)  # recently used: the cache keeps it
            return path
        spoken = spoken_form(text, lang)
        if not spoken:
            raise TtsError(f"nothing to say in {text!r}")
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.wav")
        try:
            await self._run(spoken, _voice(lang), tmp)
            if not tmp.exists() or tmp.stat().st_size <= 44:  # a bare WAV header
                raise TtsError(f"{self.espeak} wrote no audio for {text!r}")
            os.replace(tmp, path)
        finally:
            with contextlib.suppress(OSError):
                tmp.unlink()
        self.made += 1
        self._trim()
        return path

    async def _run(self, spoken: str, voice: str, out: Path) -> None:
        # -b 1: the input is UTF-8; --stdin: the text never touches the command line.
        args = [self.espeak, "-v", voice, "-s", str(self.speed), "-b", "1", "-w", str(out),
                "--stdin"]
        try:
            proc = await asyncio.create_subprocess_exec(
                *args, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE)
        except OSError as exc:
            raise TtsError(f"cannot run {self.espeak}: {exc.strerror or exc}") from None
        try:
            async with asyncio.timeout(SYNTH_TIMEOUT_S):
                _, err = await proc.communicate(spoken.encode())
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise TtsError(f"{self.espeak} took over {SYNTH_TIMEOUT_S:g} s") from None
        if proc.returncode != 0:
            detail = err.decode(errors="replace").strip()[:200]
            raise TtsError(f"{self.espeak} failed ({proc.returncode}): {detail}")

    def _trim(self) -> None:
        try:
            files = sorted(self.cache_dir.glob("*.wav"), key=lambda p: p.stat().st_mtime)
        except OSError:
            return
        for old in files[:-CACHE_FILES]:
            with contextlib.suppress(OSError):
                old.unlink()


def _voice(lang: str) -> str:
    try:
        return VOICES[lang]
    except KeyError:
        raise TtsError(f"no voice for language {lang!r} (have {', '.join(VOICES)})") from None


def wav_duration(path: Path) -> float:
    """Seconds of audio in a WAV file, from its header (ValueError if it is not one)."""
    try:
        with wave.open(str(path), "rb") as w:
            return w.getnframes() / w.getframerate()
    except (wave.Error, EOFError, ZeroDivisionError) as exc:
        raise ValueError(f"{path}: not a PCM WAV file ({exc})") from None


def inspect_wav(path: Path) -> WavInfo:
    """Length and loudness of a PCM WAV file (ValueError if it is not one)."""
    try:
        with wave.open(str(path), "rb") as w:
            rate, channels, width = w.getframerate(), w.getnchannels(), w.getsampwidth()
            frames = w.readframes(w.getnframes())
    except (wave.Error, EOFError) as exc:
        raise ValueError(f"{path}: not a PCM WAV file ({exc})") from None
    if width != 2 or rate <= 0:
        raise ValueError(f"{path}: {8 * width}-bit audio; only 16-bit is measured")
    samples = array.array("h", frames)
    if sys.byteorder == "big":  # WAV is little-endian
        samples.byteswap()
    n = len(samples)
    rms = math.sqrt(sum(s * s for s in samples) / n) / 32768 if n else 0.0
    return WavInfo(duration=n / channels / rate, rms=rms, rate=rate, channels=channels)
