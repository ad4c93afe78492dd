"""The site now, for head office: a retained Summary on vipctl/<site>/summary.

Sent when something it shows may have changed (any event in the log rings the bell),
at most once every MIN_GAP_S, and at least every SUMMARY_EVERY_S, which is head office's
"last heard from". Retained, so a head office that connects (or restarts) has it at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from controller.link.encoding import to_json
from controller.link.wire import (
    NEXT_VISITS,
    SUMMARY_EVERY_S,
    DeviceProblem,
    Summary,
    VisitSnapshot,
    summary_topic,
)
from controller.store.book import VisitBook
from controller.store.events import EventLog
from controller.store.visits import VisitStatus
from devices.device import Device
from devices.transports.mqtt import MqttTransport, TransportUnavailable

log = logging.getLogger(__name__)

# Debounce: a burst of events (a scene's 200 commands) makes one summary, not 200.
MIN_GAP_S = 1.0
PUBLISH_TIMEOUT_S = 5.0
_COMING = (VisitStatus.BOOKED, VisitStatus.PREPARING)
_EPOCH = datetime.fromtimestamp(0, UTC)  # in place of `at`, to compare two summaries


def _when(stamp: float | None) -> datetime | None:
    return None if stamp is None else datetime.fromtimestamp(stamp, UTC)


def device_problems(devices: Iterable[Device]) -> list[DeviceProblem]:
    """Devices that said they are offline, and those whose last command failed."""
    problems: list[DeviceProblem] = []
    for device in devices:
        if device.available is False:
            problems.append(DeviceProblem(device_id=device.id, problem="unavailable",
                                          since=_when(device.last_report)))
        if device.failure is not None:
            problems.append(DeviceProblem(device_id=device.id, problem="failed",
                                          since=_when(device.failed_since),
                                          message=device.failure))
    return problems


def build_summary(*, site_id: str, name: str, book: VisitBook, devices: Iterable[Device],
                  now: datetime) -> Summary:
    current = book.current(now)
    coming = book.list(statuses=_COMING, limit=NEXT_VISITS + 1)
    upcoming = [v for v in coming if current is None or v.id != current.id][:NEXT_VISITS]
    return Summary(site=site_id, name=name, at=now,
                   current=None if current is None else VisitSnapshot.of(current),
                   next=[VisitSnapshot.of(v) for v in upcoming],
                   devices_in_trouble=device_problems(devices), preflight=None)


class SummaryPublisher:
    def __init__(self, *, build: Callable[[], Summary], events: EventLog,
                 transport: MqttTransport, site_id: str) -> None:
        self._build = build
        self._events = events
        self._transport = transport
        self._topic = summary_topic(site_id)
        self.sent = 0

    async def run(self) -> None:
        last: bytes | None = None  # the payload last acknowledged, its time left out
        loop = asyncio.get_running_loop()
        sent_at = -SUMMARY_EVERY_S
        async with self._events.subscribe(maxsize=1) as doorbell:
            while True:
                summary = self._build()
                content = to_json(summary.model_copy(update={"at": _EPOCH}))
                due = content != last or loop.time() - sent_at >= SUMMARY_EVERY_S
                if due and await self._publish(summary):
                    last, sent_at = content, loop.time()
                # Wait for a change, or the heartbeat; then leave MIN_GAP_S since the last
                # look, so that a burst is one summary.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(anext(doorbell), SUMMARY_EVERY_S)
                await asyncio.sleep(MIN_GAP_S)

    async def _publish(self, summary: Summary) -> bool:
        try:
            await self._transport.publish(self._topic, to_json(summary), qos=1,
                                          retain=True, timeout=PUBLISH_TIMEOUT_S)
        except TransportUnavailable as exc:
            log.info("link: summary not sent (%s); again at the next change or heartbeat", exc)
            return False
        self.sent += 1
        return True
