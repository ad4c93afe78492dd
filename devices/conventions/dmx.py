"""DMX512 lights through an Enttec DMX USB Pro-compatible widget.

ENTTEC DMX USB Pro API (v1.44), "Output Only Send DMX Packet Request", label 6: every
message is 0x7E, the label, the data length LSB then MSB, the data, 0xE7; for label 6 the
data is the DMX start code (0 for dimmer data) followed by the channel levels (24 to 512).
The support forum's worked example (support.enttec.com, topic 101000613270) for a whole
universe: 7E 06 01 02 00 <512 levels> E7.

The widget keeps sending the last frame on the DMX line and answers nothing: a light's
state is assumed. The universe belongs to the port (DmxUniverse, the port's framing): each
light writes its channels into it and the whole universe goes out, again every refresh
interval and after every reopen, so a widget that lost power comes back to what vipctl set.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, field_validator

from devices.conventions.serial_base import (
    Framing,
    SerialCodec,
    SerialOptions,
    is_link_topic,
    link_state,
)
from devices.errors import DecodeError, UnsupportedCommand
from devices.model import BRIGHTNESS, POWER, Kind, Message, State, StateValue, Update

SOM, EOM = 0x7E, 0xE7  # start and end of message delimiters
LABEL_SEND_DMX = 6
START_CODE = 0  # DMX512 null start code: dimmer levels follow
UNIVERSE = 512
# The widget refuses shorter DMX packets (API: "24 to 512" channels).
MIN_CHANNELS = 24
# A widget message carries at most 600 data bytes (API, message format).
MAX_DATA = 600
FULL = 255


def widget_message(label: int, data: bytes) -> bytes:
    if len(data) > MAX_DATA:
        raise ValueError(f"{len(data)} data bytes; a widget message takes at most {MAX_DATA}")
    return bytes([SOM, label, len(data) & 0xFF, len(data) >> 8]) + data + bytes([EOM])


def dmx_frame(levels: bytes) -> bytes:
    """Label 6 for a universe of `levels` (padded to the widget's minimum)."""
    return widget_message(LABEL_SEND_DMX, bytes([START_CODE]) + levels.ljust(MIN_CHANNELS, b"\0"))


def split_messages(buffer: bytes) -> tuple[list[tuple[int, bytes]], bytes]:
    """Whole widget messages at the front of `buffer` (garbage between them skipped), and
    the incomplete rest. The widget's side: the simulator reads frames with this."""
    messages: list[tuple[int, bytes]] = []
    i = 0
    while True:
        start = buffer.find(bytes([SOM]), i)
        if start < 0:
            return messages, b""
        if len(buffer) - start < 5:
            return messages, buffer[start:]
        length = buffer[start + 2] | buffer[start + 3] << 8
        end = start + 4 + length
        if length > MAX_DATA:
            i = start + 1  # not a message start after all
            continue
        if len(buffer) <= end:
            return messages, buffer[start:]
        if buffer[end] != EOM:
            i = start + 1
            continue
        messages.append((buffer[start + 1], buffer[start + 4 : end]))
        i = end + 1


def encode_levels(levels: dict[int, int]) -> bytes:
    """A light's channels as the port's request: `1=255 2=255` (channel=level)."""
    return " ".join(f"{c}={v}" for c, v in sorted(levels.items())).encode()


def decode_levels(topic: str, payload: bytes) -> dict[int, int]:
    levels: dict[int, int] = {}
    try:
        for pair in payload.decode("ascii").split():
            channel, _, level = pair.partition("=")
            levels[int(channel)] = int(level)
    except (UnicodeDecodeError, ValueError):
        raise DecodeError(topic, "not channel=level pairs", payload[:64]) from None
    if any(not 1 <= c <= UNIVERSE or not 0 <= v <= FULL for c, v in levels.items()):
        raise DecodeError(topic, "channel or level out of range", payload[:64])
    return levels


class DmxUniverse:
    """The port's framing: the universe the widget sends, written whole every time."""

    def __init__(self) -> None:
        self.levels = bytearray(UNIVERSE)

    def outgoing(self, topic: str, payload: bytes) -> bytes:
        for channel, level in decode_levels(topic, payload).items():
            self.levels[channel - 1] = level
        return self.frame()

    def frame(self) -> bytes:
        return dmx_frame(bytes(self.levels))

    def expects_reply(self, topic: str) -> bool:
        return False

    def reply_length(self, buffer: bytes) -> int | None:
        return None  # the widget sends nothing vipctl asked for; the port drops it

    def refresh(self) -> bytes | None:
        return self.frame()


class DmxOptions(SerialOptions):
    """`serial: {convention: dmx, port: dmx_widget, channels: [1, 2, 3]}`"""

    convention: Literal["dmx"]
    channels: list[int] = Field(min_length=1, max_length=UNIVERSE)  # 1-512, all set alike

    @field_validator("channels")
    @classmethod
    def _valid_channels(cls, value: list[int]) -> list[int]:
        bad = [c for c in value if not 1 <= c <= UNIVERSE]
        if bad:
            raise ValueError(f"DMX channels are 1 to {UNIVERSE}; got {bad[0]}")
        if len(set(value)) != len(value):
            raise ValueError("a channel is listed twice")
        return value

    def where(self) -> str:
        return f"{self.port} channel{'s' if len(self.channels) > 1 else ''} " + \
            ", ".join(map(str, self.channels))


class DmxCodec(SerialCodec[DmxOptions]):
    """A light (brightness on its channels) or a switch (full or nothing)."""

    convention: ClassVar[str] = "dmx"
    kinds: ClassVar[frozenset[Kind]] = frozenset({"light", "switch"})

    def __init__(self, device_id: str, kind: Kind, options: DmxOptions) -> None:
        super().__init__(device_id, kind, options)
        self.power = False  # what vipctl last put in the universe for this light
        self.brightness = 100  # kept while off, so "power on" brings the last level back

    @classmethod
    def make_framing(cls) -> Framing:
        return DmxUniverse()

    @property
    def can_report(self) -> bool:
        return False

    @property
    def unit(self) -> str:
        return f"dmx{self.options.channels[0]}"

    def encode(self, desired: State) -> list[Message]:
        plan = self._plan(desired)
        self.power = bool(plan[POWER])
        self.brightness = int(plan.get(BRIGHTNESS, self.brightness))
        level = round(self.brightness * FULL / 100) if self.power else 0
        levels = dict.fromkeys(self.options.channels, level)
        return [Message(f"{self.unit}/levels", encode_levels(levels))]

    def confirmation(self, desired: State) -> State:
        return self._plan(desired)

    def _plan(self, desired: State) -> dict[str, StateValue]:
        plan: dict[str, StateValue] = {POWER: self.power}
        for attribute, value in desired.items():
            if attribute == POWER and isinstance(value, bool):
                plan[POWER] = value
            elif attribute == BRIGHTNESS and self.kind == "light" and isinstance(value, int) \
                    and not isinstance(value, bool) and 1 <= value <= 100:
                plan[BRIGHTNESS] = value
                plan[POWER] = desired.get(POWER, True)  # a level means on, as a dimmer does
            else:
                raise UnsupportedCommand(self.device_id, attribute, f"{value!r} is not valid"
                                         + (" (0 is power off)" if value == 0 else ""))
        return plan

    def current(self) -> dict[str, StateValue]:
        """What the universe makes of this light now."""
        if self.kind == "switch":
            return {POWER: self.power}
        return {POWER: True, BRIGHTNESS: self.brightness} if self.power else {POWER: False}

    def decode(self, topic: str, payload: bytes) -> Update | None:
        if is_link_topic(topic):
            online = link_state(topic, payload)
            # Open again: the universe has just been written whole, so the lights are as set.
            return Update(available=online, state=self.current() if online else {})
        return None


CODEC = DmxCodec
