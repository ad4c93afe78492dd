"""Push-to-talk through an MQTT relay, and the plain lead-in/tail for a line with no PTT.

A relay (a Tasmota plug or a Zigbee switch wired across the radio's PTT contacts) is driven
as the switch it is, through the device layer: "key" is a confirmed `power: on`, so an
announcement is never spoken into a radio that did not key. Both implement devices.ptt's
PushToTalk: lead-in after keying (the radio and the listeners' squelch open before the first
syllable), tail before unkeying (the last syllable and the audio output's buffer get out),
unkeyed on every way out, and never keyed longer than `max_transmit`.

Should vipctl die while keyed, the relay stays closed; Tasmota's PulseTime (e.g. `PulseTime
160` = 60 s, https://tasmota.github.io/docs/Commands/#pulsetime) switches it off on its own
and is the hardware backstop worth setting on such a plug.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from common.tasks import cancel_and_wait
from devices.device import Device
from devices.errors import DeviceError
from devices.local.config import LEAD_IN_S, MAX_TRANSMIT_S, TAIL_S
from devices.model import POWER

log = logging.getLogger(__name__)


# Transmission lengths kept in `keyed_for` (the latest ones).
KEEPS = 100


class PttError(DeviceError):
    """The transmitter could not be keyed; nothing was said."""


@dataclass(frozen=True, slots=True)
class RelayPolicy:
    """How hard to insist on the relay: quickly, since the announcement waits on it."""

    confirm_timeout: float = 1.0
    retries: int = 1
    backoff: float = 0.2
    max_backoff: float = 0.5


class NoPtt:
    """An audio line with nothing to key (a PA amplifier): only the lead-in and the tail."""

    def __init__(self, *, lead_in: float = 0.0, tail: float = TAIL_S) -> None:
        self.lead_in = lead_in
        self.tail = tail

    @asynccontextmanager
    async def keyed(self) -> AsyncIterator[None]:
        await asyncio.sleep(self.lead_in)
        yield
        await asyncio.sleep(self.tail)


class RelayPtt:
    """Push-to-talk keyed by a switch device (kind switch, any convention that reports)."""

    def __init__(self, device: Device, *, lead_in: float = LEAD_IN_S, tail: float = TAIL_S,
                 max_transmit: float = MAX_TRANSMIT_S) -> None:
        self.device = device
        self.lead_in = lead_in
        self.tail = tail
        self.max_transmit = max_transmit
        self.keyed_for: list[float] = []  # seconds of each transmission, for tests and logs
        self.cut_off = 0  # transmissions ended by max_transmit

    @asynccontextmanager
    async def keyed(self) -> AsyncIterator[None]:
        result = await self.device.command({POWER: True})
        if not result.ok:
            await asyncio.shield(self._unkey())  # it may have keyed without saying so
            raise PttError(f"{self.device.id} did not key: {result.reason}")
        since = time.monotonic()
        cap = asyncio.create_task(self._cap(), name=f"ptt:{self.device.id}:cap")
        try:
            await asyncio.sleep(self.lead_in)
            yield
            await asyncio.sleep(self.tail)
        finally:
            await cancel_and_wait(cap)
            # Shielded: a cancelled announcement still unkeys the radio.
            await asyncio.shield(self._unkey())
            self.keyed_for.append(time.monotonic() - since)
            del self.keyed_for[:-KEEPS]

    async def _cap(self) -> None:
        await asyncio.sleep(self.max_transmit)
        self.cut_off += 1
        log.error("%s keyed for %g s: unkeying", self.device.id, self.max_transmit)
        await self._unkey()

    async def _unkey(self) -> None:
        result = await self.device.command({POWER: False})
        if not result.ok:
            log.error("%s did not unkey: %s", self.device.id, result.reason)
