"""A simulated Enttec DMX USB Pro widget: decodes label-6 frames, records channel levels.

It reads the byte stream the way the widget does (devices/conventions/dmx.py's own
`split_messages`: start 0x7E, label, length LSB/MSB, data, end 0xE7), skips noise between
messages, and keeps the universe it would be putting on the DMX line. Powered by USB, it goes
dark when its port vanishes.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from devices.conventions.dmx import LABEL_SEND_DMX, START_CODE, UNIVERSE, split_messages
from simulators.serial_link import Link, SerialSimulator

# What the widget keeps of a half-received message before it gives up on it.
MAX_PENDING = 2048


class DmxWidgetSimulator(SerialSimulator):
    def __init__(self, name: str, link: Link) -> None:
        super().__init__(name, link)
        self.channels = bytearray(UNIVERSE)  # what goes out on the DMX line, channel 1 first
        self.frames = 0  # label-6 frames with start code 0 taken
        self.other_messages: list[tuple[int, bytes]] = []  # labels or start codes it ignores
        self.changes: list[tuple[float, dict[int, int]]] = []  # (monotonic, channel: level)
        self._buffer = b""

    def levels(self, channels: Iterable[int]) -> list[int]:
        return [self.channels[c - 1] for c in channels]

    def feed(self, data: bytes) -> None:
        messages, self._buffer = split_messages(self._buffer + data)
        self._buffer = self._buffer[-MAX_PENDING:]
        for label, payload in messages:
            if label != LABEL_SEND_DMX or not payload or payload[0] != START_CODE:
                self.other_messages.append((label, payload[:16]))
                continue
            self.frames += 1
            self.record("dmx", f"frame {len(payload) - 1} channels")
            if self.faults.ignore_commands:
                continue
            self._take(payload[1 : 1 + UNIVERSE])

    def _take(self, levels: bytes) -> None:
        changed = {i + 1: v for i, v in enumerate(levels) if self.channels[i] != v}
        changed |= {i + 1: 0 for i in range(len(levels), UNIVERSE) if self.channels[i]}
        self.channels[: len(levels)] = levels
        self.channels[len(levels) :] = bytes(UNIVERSE - len(levels))
        if changed:
            self.changes.append((time.monotonic(), changed))

    def on_vanish(self) -> None:
        self.channels[:] = bytes(UNIVERSE)
        self._buffer = b""
