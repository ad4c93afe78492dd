"""Push-to-talk: what keys a radio while an announcement is played into its audio input.

Two kinds implement it: a serial control line (RTS or DTR, devices/transports/serial_ptt)
and an MQTT relay (a Tasmota plug wired to the radio's PTT). The speaker only needs this.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Protocol


class PushToTalk(Protocol):
    """Keys the transmitter for the duration of an `async with`.

    Implementations wait the lead-in after keying (so the first syllable is not clipped) and
    the tail before unkeying, unkey on every exit path (exception, cancellation), and never
    stay keyed longer than their maximum transmit time.
    """

    def keyed(self) -> AbstractAsyncContextManager[None]: ...
