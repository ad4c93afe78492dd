"""The link as the daemon runs it: one MQTT connection of its own and three tasks.

The link has its own connection to the site's broker (client id "<client_id>-link"),
apart from the devices':
- a persistent session (clean session off): the broker keeps the booking-request
  subscription while the daemon is down and queues the requests that come meanwhile; the
  devices' connection stays clean, since a button press queued while vipctl was down is
  stale by the time it would be delivered;
- a batch of event messages never queues ahead of a device command on the same socket.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from common.tasks import TaskSet
from controller.engine.engine import Engine
from controller.link.bookings import BookingDesk
from controller.link.outbox import EventOutbox
from controller.link.summary import SummaryPublisher, build_summary
from controller.link.wire import Summary
from controller.store.book import VisitBook
from controller.store.database import Database
from controller.store.events import EventLog
from devices.registry import DeviceRegistry
from devices.transports.mqtt import MqttSettings, MqttTransport

log = logging.getLogger(__name__)

# A task of the link that failed (a database error, a bug) starts again after this long
# (seconds): the link must outlive one bad moment without a restart of the daemon.
RESTART_S = 5.0


def link_settings(daemon_settings: MqttSettings) -> MqttSettings:
    """The link's connection: the daemon's broker, login and topic prefix, a client id of
    its own (the broker keys the persistent session by it), no status topic."""
    return dataclasses.replace(daemon_settings, client_id=f"{daemon_settings.client_id}-link",
                               status_topic=None, clean_session=False)


class Link:
    """Start with the daemon, stop with it (idempotent)."""

    def __init__(self, *, settings: MqttSettings, name: str, db: Database, events: EventLog,
                 book: VisitBook, engine: Engine, registry: DeviceRegistry, tz: ZoneInfo,
                 clock: Callable[[], datetime]) -> None:
        self.transport = MqttTransport(link_settings(settings))
        self._db = db
        self._events = events
        self._book = book
        self._name = name
        self._registry = registry
        self._clock = clock
        self.desk = BookingDesk(engine=engine, db=db, transport=self.transport, tz=tz,
                                clock=clock)
        self.outbox: EventOutbox | None = None
        self.summaries: SummaryPublisher | None = None
        self._tasks = TaskSet("link", logger=log)
        self._started = False

    def summary(self) -> Summary:
        return build_summary(site_id=self._db.site_id, name=self._name, book=self._book,
                             devices=self._registry.devices.values(), now=self._clock())

    async def start(self) -> None:
        if self._started:
            return
        self._started = True
        self.desk.subscribe()  # before connecting: queued requests come at the CONNACK
        await self.transport.start()
        self.outbox = EventOutbox(db=self._db, events=self._events, book=self._book,
                                  transport=self.transport)
        self.summaries = SummaryPublisher(build=self.summary, events=self._events,
                                          transport=self.transport, site_id=self._db.site_id)
        self._tasks.spawn(_supervised(self.outbox.run, "events"), "events")
        self._tasks.spawn(_supervised(self.summaries.run, "summary"), "summary")
        self._tasks.spawn(_supervised(self.desk.run, "bookings"), "bookings")
        log.info("link to head office: publishing under vipctl/%s/", self._db.site_id)

    async def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        await self._tasks.stop()
        await self.transport.close()


async def _supervised(run: Callable[[], Awaitable[None]], what: str) -> None:
    while True:
        try:
            await run()
        except Exception:  # logged and started again: never the end of the link
            log.exception("link: the %s task failed; starting it again in %g s", what,
                          RESTART_S)
        await asyncio.sleep(RESTART_S)
