"""Start-up, supervision and shutdown of everything vipctl runs in one asyncio process.

The daemon wires the layers: the store (database, visits, ledger, event log), the devices
(MQTT, serial and local players, one registry), the engine (claims writer, announcer, media
watch, the engine itself); the API and the CLI sit on top of it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from common.tasks import TaskSet
from controller.config.site import SiteConfig
from controller.engine.announcer import Announcer
from controller.engine.context import CurrentVisit
from controller.engine.engine import Engine
from controller.engine.executor import Executor
from controller.engine.media_watch import MediaWatch
from controller.engine.metrics import Metrics, MetricsExporter
from controller.engine.preflight import Preflight
from controller.engine.undo import PressUndo
from controller.engine.walk_ins import WalkIns
from controller.link.service import Link
from controller.link.summary import build_summary
from controller.link.wire import Summary
from controller.store.book import VisitBook
from controller.store.database import Database, open_database
from controller.store.events import EventLog
from controller.store.ledger import StepLedger
from controller.store.requests import VisitRequest
from controller.store.sqlite_lock import SqliteLock
from controller.store.walk_ins import WalkInBook
from devices.device import DeviceEvent
from devices.local.site import LocalSite
from devices.model import prefixed
from devices.registry import DeviceRegistry
from devices.serial_site import SerialSite
from devices.transports.mqtt import MqttSettings, MqttTransport
from scenes.model import Scene

if TYPE_CHECKING:
    # Imported when the site file has `homeassistant:` (_homeassistant below).
    from controller.homeassistant.service import HomeAssistant

log = logging.getLogger(__name__)

# How long start-up waits for the broker before going on without it (the transport keeps
# trying in the background; commands wait for it).
BROKER_WAIT_S = 5.0
# A button's "VIP now" has no guest name: 贵宾 ("honoured guest") reads naturally in every
# announcement template ({surname}{honorific} → 贵宾).
ANONYMOUS_GUEST = {"surname": "贵", "honorific": "宾"}


def mqtt_settings(site: SiteConfig) -> MqttSettings:
    m = site.mqtt
    host, port, tls = m.connection
    return MqttSettings(
        host=host, port=port, tls=tls, ca_file=str(m.ca_file) if m.ca_file else None,
        username=m.username.get_secret_value() if m.username else None,
        password=m.password.get_secret_value() if m.password else None,
        client_id=m.client_id, keepalive=m.keepalive, topic_prefix=m.topic_prefix,
        status_topic=m.status_topic,
    )


def _version() -> str:
    from importlib import metadata  # the package's metadata: Home Assistant's device only

    try:
        return metadata.version("vipctl")
    except metadata.PackageNotFoundError:  # run from a source tree that was not installed
        return "0"


def teardown_of(scene: Scene) -> timedelta:
    """P1's gap after a visit: from the departure to the restore (e.g. departure+5m)."""
    at = scene.restore.at
    return at.offset if at.anchor == "departure" else timedelta(0)


class Daemon:
    """Everything wired together. `async with Daemon(...)` or start()/stop()."""

    def __init__(
        self,
        site: SiteConfig,
        scene: Scene,
        *,
        speed: float = 1.0,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.site = site
        self.scene = scene
        self.speed = speed
        self.tz = site.site.tz
        self.clock = clock or (lambda: datetime.now(self.tz))
        # Held until stop(): `vipctl restore` must not replace the file under a daemon.
        self._db_lock = SqliteLock.for_daemon(site.database.url)
        try:
            self.db: Database = open_database(site.database.url, site.site.id)
        except BaseException:
            if self._db_lock is not None:
                self._db_lock.release()
            raise
        self.events = EventLog(self.db)
        self.ledger = StepLedger(self.db)
        # At a speed factor the whole time axis shrinks, the P1 teardown gap included.
        self.book = VisitBook(self.db, tz=self.tz, teardown=teardown_of(scene) / speed)
        self.transport = MqttTransport(mqtt_settings(site))
        # Players and speakers played on this box (`local:`), each on a loopback of its own.
        self.local = LocalSite(site.devices, relay_transport=self.transport)
        # Devices on serial ports (`serial:`), each port with one owner.
        self.serial = SerialSite(site.devices, site.serial_ports)
        self.registry = DeviceRegistry.build(
            site.devices, site.groups, transport=self.transport, policy_for=site.policy_for,
            transports={**self.local.transports, **self.serial.transports},
        )
        self.serial.attach(self.registry.devices)
        # The visit under way: set by the engine, read by whoever files events under it.
        self.current = CurrentVisit()
        self.executor = Executor(registry=self.registry, events=self.events, db=self.db,
                                 current=self.current)
        # What /metrics shows (README, "Monitoring"): counted where it happens.
        self.metrics = Metrics()
        self.metrics.watch(self.registry)
        self.announcer = Announcer(self.registry, self.events, self.executor,
                                   duck={d: s.duck for d, s in site.devices.items() if s.duck},
                                   metrics=self.metrics, clock=self.clock)
        self.media_watch = MediaWatch(self.registry, self.events, current=self.current)
        self.preflight = Preflight(
            scene=scene, registry=self.registry, events=self.events, announcer=self.announcer,
            book=self.book, clock=self.clock,
            measures={d: s.measures for d, s in site.devices.items() if s.measures},
            also=[d for d, s in site.devices.items() if s.triggers], speed=speed)
        self.engine = Engine(
            scene=scene, executor=self.executor, announcer=self.announcer, book=self.book,
            ledger=self.ledger, events=self.events, tz=self.tz, clock=self.clock, speed=speed,
            current=self.current, metrics=self.metrics, preflight=self.preflight,
        )
        # A mistaken arrival or departure press, taken back within 30 s.
        self.undo = PressUndo(self.engine)
        # Customers without a booking (P1): kept for a callback, the 客户管家 told.
        self.walk_ins = WalkIns(book=WalkInBook(self.db), engine=self.engine,
                                announcer=self.announcer, registry=self.registry,
                                events=self.events, clock=self.clock)
        self.metrics_exporter = MetricsExporter(
            self.metrics, devices=self.registry, db=self.db, queue_depth=self.announcer.waiting)
        # The link to head office (controller/link), on a connection of its own; built
        # here, connected only by start(): a standby's view of the site never starts.
        self.link: Link | None = None
        if site.link.enabled:
            self.link = Link(settings=mqtt_settings(site), name=site.site.name, db=self.db,
                             events=self.events, book=self.book, engine=self.engine,
                             registry=self.registry, tz=self.tz, clock=self.clock)
        # Home Assistant's discovery (controller/homeassistant), on a connection of its own;
        # started like the link, never by a standby.
        self.homeassistant: HomeAssistant | None = None
        if site.homeassistant is not None:
            self.homeassistant = self._homeassistant(site, scene)
        self._tasks = TaskSet("daemon", logger=log)
        self._started = False
        # A standby's view of the site (controller/standby.py): the API reads, never writes.
        self.read_only = False
        self.stopping = asyncio.Event()
        for device_id, spec in site.devices.items():
            if spec.triggers:
                self.registry[device_id].add_listener(self._on_button)

    async def start(self) -> None:
        if self._started:
            return
        self._started = True
        await self.local.start()
        await self.serial.start()
        await self.transport.start()
        try:
            await self.transport.wait_connected(BROKER_WAIT_S)
        except TimeoutError:
            log.warning("broker %s not reachable yet; going on, commands will wait for it",
                        self.site.mqtt.url)
        await self.engine.start()
        if self.link is not None and not self.read_only:
            await self.link.start()
        if self.homeassistant is not None and not self.read_only:
            await self.homeassistant.start()
        log.info("vipctl running for %s (%d devices, speed x%g)",
                 self.site.site.name, len(self.registry.devices), self.speed)

    async def stop(self) -> None:
        """Stop what runs on top first: presses in flight, the engine's clock and steps,
        the announcer and the claims writer; then the devices and their connections (the
        local players before the MQTT connection their PTT relays use); the database
        last. Idempotent."""
        if not self._started:
            return
        self._started = False
        await self._tasks.stop()
        if self.homeassistant is not None:
            await self.homeassistant.stop()
        if self.link is not None:
            await self.link.stop()
        await self.engine.stop()
        await self.walk_ins.stop()
        await self.announcer.close()
        await self.executor.close()
        await self.local.stop()
        await self.transport.close()
        await self.serial.stop()
        for device in self.registry.devices.values():
            await device.close()
        # Events of devices going away (a local player's "offline") come after the executor's
        # flush: write them before the database goes.
        self.events.flush()
        self.db.close()
        if self._db_lock is not None:
            self._db_lock.release()

    async def __aenter__(self) -> Daemon:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> None:
        """Run `coro` in the background until it ends or the daemon stops (an announcement
        the API does not wait for)."""
        self._tasks.spawn(coro, name)

    def _homeassistant(self, site: SiteConfig, scene: Scene) -> HomeAssistant:
        from controller.homeassistant.discovery import HaSite
        from controller.homeassistant.service import HomeAssistant

        assert site.homeassistant is not None
        settings = mqtt_settings(site)
        speaking = tuple(c.id for c in scene.cues if c.announce is not None or c.remind)
        ha = HaSite(site_id=site.site.id, name=site.site.name, prefix=site.homeassistant.prefix,
                    status_topic=prefixed(site.mqtt.topic_prefix, site.mqtt.status_topic),
                    topic_prefix=site.mqtt.topic_prefix, version=_version(),
                    announcement_types=speaking)

        def summary() -> Summary:
            return build_summary(site_id=site.site.id, name=site.site.name, book=self.book,
                                 devices=self.registry.devices.values(), now=self.clock())

        return HomeAssistant(settings=settings, site=ha, discovery=site.homeassistant.discovery,
                             summary=summary, events=self.events, clock=self.clock,
                             press=lambda trigger, source: self.press(trigger, source=source))

    # --- buttons ---------------------------------------------------------------------------

    def _on_button(self, event: DeviceEvent) -> None:
        if event.kind != "action":
            return
        spec = self.site.devices[event.device_id]
        action = event.detail.get("action")
        trigger = next((t for a, t in spec.triggers.items() if a == action), None)
        if trigger is None:
            return
        source = f"button:{event.device_id}"
        self._tasks.spawn(self.press(str(trigger), source=source), f"press:{trigger}")

    async def press(self, trigger: str, *, source: str) -> str:
        """A trigger from any source (button, API, CLI): the one path for all of them."""
        if trigger == "walk_in":  # the details are taken on the page
            walk_in = await self.walk_ins.record(source=source)
            return f"walk_in: {walk_in.id}"
        if trigger == "vip_now":
            request = VisitRequest.model_validate(
                {**ANONYMOUS_GUEST, "start": self.clock()}, context={"tz": self.tz})
            visit = await self.engine.vip_now(request, source=source)
            return f"vip_now: {visit.id}"
        result = await self.engine.trigger(trigger, source=source)
        return result.message
