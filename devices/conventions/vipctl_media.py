"""vipctl-media: vipctl's own JSON convention for remote media players.

The specification is docs/conventions-vipctl.md; this module is both sides of it. The
controller uses VipctlMediaCodec; a media agent (and simulators/vipctl_media.py) uses the
device-side functions decode_command and encode_state. The JSON rules shared by both vipctl
conventions (load_json_object, dump_json, availability) live here too.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import ClassVar, Literal

from devices.capabilities import attributes_of
from devices.conventions.base import (
    Codec,
    ConventionOptions,
    TopicPart,
    WireAddress,
    is_finite_number,
)
from devices.errors import DecodeError, UnsupportedCommand
from devices.model import (
    ERROR,
    LOOP,
    MEDIA,
    PLAYBACK,
    PLAYBACK_STATES,
    POWER,
    VOLUME,
    Kind,
    Message,
    State,
    StateValue,
    Update,
)

# Far above any real message of either convention; bounds what a garbage payload costs.
MAX_PAYLOAD_BYTES = 64 * 1024
# A path or URL; PATH_MAX on Linux is 4096, and a longer "media" is garbage, not a file.
MAX_MEDIA_CHARS = 4096
# How much of a refused payload a DecodeError keeps, so a 1 MB garbage does not fill the log.
KEPT_PAYLOAD_BYTES = 256

# Topic leaves under the device's base topic (the specification's "Topics" table).
SET = "set"  # command, JSON, not retained
GET = "get"  # query, any payload, not retained
STATE = "state"  # full state, JSON, retained
AVAILABILITY = "availability"  # "online" / "offline", retained, offline is the last will

ONLINE = "online"
OFFLINE = "offline"

# State-only fields: reported by the player, never commanded.
POSITION = "position"  # float, seconds into the current item


class VipctlMediaOptions(ConventionOptions):
    convention: Literal["vipctl-media"]
    topic: TopicPart  # e.g. vipctl/media/vip_room_tv

    def wire_address(self) -> WireAddress:
        return WireAddress("topic", self.topic, (self.convention, self.topic))


# --- JSON rules common to the vipctl conventions ---------------------------------------


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number in JSON")


def load_json_object(topic: str, payload: bytes) -> dict[str, object]:
    """The payload as a JSON object (UTF-8, size-bounded, no NaN); DecodeError otherwise."""
    kept = payload[:KEPT_PAYLOAD_BYTES]
    if len(payload) > MAX_PAYLOAD_BYTES:
        reason = f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD_BYTES}"
        raise DecodeError(topic, reason, kept)
    try:
        data = json.loads(payload.decode("utf-8"), parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise DecodeError(topic, f"not JSON: {exc}", kept) from None
    if not isinstance(data, dict):
        raise DecodeError(topic, f"not a JSON object but {type(data).__name__}", kept)
    return data


def dump_json(data: Mapping[str, object]) -> bytes:
    """UTF-8 JSON with Chinese left readable on the wire (not \\u escapes)."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def availability(base: str, online: bool) -> Message:
    """The retained availability message (also the last will, with online=False)."""
    return Message(f"{base}/{AVAILABILITY}", (ONLINE if online else OFFLINE).encode(), retain=True)


def decode_availability(topic: str, payload: bytes) -> Update:
    text = payload.strip()
    if text == b"":  # a cleared retained message says nothing
        return Update()
    if text in (ONLINE.encode(), OFFLINE.encode()):
        return Update(available=text == ONLINE.encode())
    raise DecodeError(topic, "availability is neither 'online' nor 'offline'", text[:64])


# --- field rules -------------------------------------------------------------------------


def check_field(name: str, value: object) -> StateValue:
    """One settable field in the vocabulary of devices/model.py; ValueError says why not."""
    if name in (POWER, LOOP):
        if not isinstance(value, bool):
            raise ValueError(f"{name} must be true or false, not {value!r}")
        return value
    if name == PLAYBACK:
        if value not in PLAYBACK_STATES:
            raise ValueError(f"playback must be one of {', '.join(PLAYBACK_STATES)}, not {value!r}")
        return str(value)
    if name == MEDIA:
        if not isinstance(value, str) or len(value) > MAX_MEDIA_CHARS or "\x00" in value:
            raise ValueError(f"media must be a path or URL of at most {MAX_MEDIA_CHARS} chars")
        return value
    if name == VOLUME:
        # 30.0 is a whole number (JSON has one number type); inf and NaN are not.
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"volume must be a whole number, not {value!r}")
        if not 0 <= value <= 100:
            raise ValueError(f"volume must be 0-100, not {value!r}")
        return value
    raise ValueError(f"unknown field {name!r}")


def _check_consistent(fields: Mapping[str, StateValue]) -> None:
    if fields.get(POWER) is False and fields.get(PLAYBACK) in ("playing", "paused"):
        raise ValueError("a player switched off cannot be playing or paused")


# --- the device's side -------------------------------------------------------------------


def decode_command(topic: str, payload: bytes) -> dict[str, StateValue]:
    """A `<t>/set` command, validated whole: any bad field refuses all of it."""
    data = load_json_object(topic, payload)
    try:
        fields = {name: check_field(name, value) for name, value in data.items()}
        _check_consistent(fields)
    except ValueError as exc:
        raise DecodeError(topic, str(exc), payload[:KEPT_PAYLOAD_BYTES]) from None
    return fields


def encode_state(
    base: str, state: Mapping[str, StateValue], *, position: float, error: str = ""
) -> Message:
    """The retained `<t>/state` message: the settable fields, position and error."""
    body: dict[str, object] = {name: state[name] for name in _STATE_ORDER if name in state}
    body[POSITION] = round(max(position, 0.0), 3)
    body[ERROR] = error or None
    return Message(f"{base}/{STATE}", dump_json(body), retain=True)


# Field order on the wire, for humans reading mosquitto_sub.
_STATE_ORDER = (POWER, PLAYBACK, MEDIA, LOOP, VOLUME)


# --- the controller's side ---------------------------------------------------------------


def decode_state(topic: str, payload: bytes) -> dict[str, StateValue]:
    """A `<t>/state` report. Unknown fields are ignored (newer agents may add some)."""
    data = load_json_object(topic, payload)
    state: dict[str, StateValue] = {}
    try:
        for name in _STATE_ORDER:
            if name in data:
                state[name] = check_field(name, data[name])
        if POSITION in data:
            pos = data[POSITION]
            if not is_finite_number(pos) or pos < 0:
                raise ValueError(f"position must be seconds >= 0, not {pos!r}")
            state[POSITION] = float(pos)
        if ERROR in data:
            err = data[ERROR]
            if err is not None and not isinstance(err, str):
                raise ValueError(f"error must be a string or null, not {err!r}")
            state[ERROR] = err or ""
    except ValueError as exc:
        raise DecodeError(topic, str(exc), payload[:KEPT_PAYLOAD_BYTES]) from None
    return state


class VipctlMediaCodec(Codec[VipctlMediaOptions]):
    """Controller side of one vipctl-media player."""

    convention: ClassVar[str] = "vipctl-media"
    kinds: ClassVar[frozenset[Kind]] = frozenset({"media"})

    def subscriptions(self) -> list[str]:
        base = self.options.topic
        return [f"{base}/{STATE}", f"{base}/{AVAILABILITY}"]

    def encode(self, desired: State) -> list[Message]:
        if not desired:
            return []
        fields: dict[str, StateValue] = {}
        for name, value in desired.items():
            if name not in attributes_of("media"):
                raise UnsupportedCommand(self.device_id, name, "not a media player attribute")
            try:
                fields[name] = check_field(name, value)
            except ValueError as exc:
                raise UnsupportedCommand(self.device_id, name, str(exc)) from None
        try:
            _check_consistent(fields)
        except ValueError as exc:
            raise UnsupportedCommand(self.device_id, PLAYBACK, str(exc)) from None
        return [Message(f"{self.options.topic}/{SET}", dump_json(fields))]

    def query(self) -> list[Message]:
        return [Message(f"{self.options.topic}/{GET}", b"")]

    def decode(self, topic: str, payload: bytes) -> Update | None:
        base = self.options.topic
        if topic == f"{base}/{AVAILABILITY}":
            return decode_availability(topic, payload)
        if topic == f"{base}/{STATE}":
            if payload.strip() == b"":  # a cleared retained state says nothing
                return Update()
            return Update(state=decode_state(topic, payload))
        return None


CODEC = VipctlMediaCodec
