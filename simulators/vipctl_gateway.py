"""What the two vipctl-convention simulators share: a vipctl-media player and a
vipctl-intercom gateway both announce themselves on `<t>/availability` (birth "online", last
will "offline") and report changes of their own (an item ending, an announcement started)
only after the replies to commands still pending, so that reports leave in the order they
happened (docs/conventions-vipctl.md)."""

from __future__ import annotations

import asyncio
import contextlib
from abc import abstractmethod

import aiomqtt

from devices.conventions.vipctl_media import availability
from devices.model import Message
from simulators.base import SimulatedDevice

# How long a publication from the device's own clock may take before it is dropped.
PUBLISH_TIMEOUT_S = 2.0


class VipctlGateway(SimulatedDevice):
    """Base of the vipctl-media and vipctl-intercom simulators."""

    @property
    @abstractmethod
    def topic(self) -> str:
        """The device's base topic (`<t>`)."""

    @abstractmethod
    def state_message(self) -> Message:
        """The retained `<t>/state`."""

    def will(self) -> Message:
        return availability(self.topic, False)

    def birth(self) -> list[Message]:
        return [availability(self.topic, True), self.state_message()]

    async def _emit(self, messages: list[Message]) -> None:
        """Publish a report of the device's own, after the replies still pending."""
        pending = list(self._replies)
        if pending:
            await asyncio.wait(pending)
        if self.faults.reply_delay:
            await asyncio.sleep(self.faults.reply_delay)
        if not self.connected.is_set():
            return  # offline, it plays (or speaks) on; its birth reports the state later
        with contextlib.suppress(aiomqtt.MqttError, RuntimeError, TimeoutError):
            async with asyncio.timeout(PUBLISH_TIMEOUT_S):
                await self.publish_all(messages)
