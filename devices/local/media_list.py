"""What a vipctl-media `media` value means as a list of things to play.

A file, a folder (all its files, by name), a playlist (.m3u, .m3u8, .xspf) or a URL, as
docs/conventions-vipctl.md says. Relative paths are relative to the player's media root (a
playlist's entries to the playlist's folder). Resolving again is cheap, and the player does it
on every restart, so a file put back or a folder refilled is found.
"""

from __future__ import annotations

import random
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from devices.errors import DeviceError

# A URL: a scheme of two or more letters (so that C:\ on Windows is not one), then "://".
URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+://")
PLAYLISTS = (".m3u", ".m3u8", ".xspf")
# XSPF's namespace (https://xspf.org/spec): <track><location>URI</location></track>.
XSPF_NS = "{http://xspf.org/ns/0/}"
# Entries one playlist may hold; a longer one is garbage, not a site's music.
MAX_ITEMS = 10_000


class MediaError(DeviceError):
    """The media cannot be played; the message is what the player reports in `error`."""


@dataclass(frozen=True, slots=True)
class MediaItem:
    source: str  # a local path, or a URL
    url: bool = False


def resolve(media: str, *, root: Path, shuffle: bool = False,
            rng: random.Random | None = None) -> list[MediaItem]:
    """The items `media` stands for, in play order. Raises MediaError."""
    if not media:
        raise MediaError("nothing to play: no media set")
    if URL.match(media) and not media.lower().startswith("file://"):
        return [MediaItem(media, url=True)]
    path = _path(media, root)
    if path.is_dir():
        items = [MediaItem(str(p)) for p in sorted(path.iterdir(), key=lambda p: p.name)
                 if p.is_file() and not p.name.startswith(".")]
        if not items:
            raise MediaError(f"nothing to play in {path}: the folder has no files")
    elif path.is_file():
        items = _playlist(path) if path.suffix.lower() in PLAYLISTS else [MediaItem(str(path))]
    else:
        raise MediaError(f"cannot open {path}: no such file or directory")
    if shuffle:
        (rng or random.Random()).shuffle(items)
    return items


def _path(media: str, root: Path) -> Path:
    if media.lower().startswith("file://"):
        return Path(unquote(urlsplit(media).path))
    path = Path(media).expanduser()
    return path if path.is_absolute() else root / path


def _playlist(path: Path) -> list[MediaItem]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise MediaError(f"cannot read {path}: {exc.strerror or exc}") from None
    if path.suffix.lower() == ".xspf":
        entries = _xspf(path, data)
    else:
        # .m3u8 is UTF-8 by definition; an old .m3u may be in a legacy code page.
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = data.decode("gb18030", errors="replace")
        entries = [line.strip() for line in text.splitlines()]
        entries = [e for e in entries if e and not e.startswith("#")]
    items = []
    for entry in entries[:MAX_ITEMS]:
        if URL.match(entry) and not entry.lower().startswith("file://"):
            items.append(MediaItem(entry, url=True))
        else:
            items.append(MediaItem(str(_path(entry, path.parent))))
    if not items:
        raise MediaError(f"nothing to play in {path}: the playlist is empty")
    return items


def _xspf(path: Path, data: bytes) -> list[str]:
    try:
        tree = ET.fromstring(data)
    except ET.ParseError as exc:
        raise MediaError(f"cannot read {path}: not an XSPF playlist ({exc})") from None
    return [(loc.text or "").strip() for loc in tree.iter(f"{XSPF_NS}location")
            if (loc.text or "").strip()]
