"""Home Assistant discovery as the daemon runs it: one MQTT connection of its own.

Its own connection (client id "<client_id>-ha") because the discovery prefix is Home
Assistant's and must not get the site's topic_prefix, which the devices' connection puts
before every topic. On every (re)connection, and whenever Home Assistant says "online" on
`<prefix>/status` (its birth message, after a restart), it publishes every config again;
the state (retained) on every change. Its subscription to `<prefix>/+/vipctl_<site>/+/config`
gets back what the broker retains for the site: a config this vipctl no longer publishes
(discovery turned off, an entity gone) is removed with an empty retained message.

The only commands taken from Home Assistant are the buttons' presses, each on a topic of
its own; a press goes the way of every press (`press`, the daemon's: Engine.trigger), with
the source "homeassistant".
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any

from common.tasks import TaskSet
from controller.homeassistant.discovery import PRESS, HaSite, announcement, configs, state
from controller.link.wire import Summary
from controller.store.events import EventLog
from devices.transports.mqtt import MqttSettings, MqttTransport, TransportUnavailable

log = logging.getLogger(__name__)

SOURCE = "homeassistant"  # a press's source in the event log
PUBLISH_TIMEOUT_S = 5.0
# A burst of events (a scene's 200 commands) makes one state message, not 200; short, so
# that the guest and "engaged" follow a press at once.
MIN_GAP_S = 0.25
# The minutes to the next visit change with no event: the state is looked at this often.
REFRESH_S = 20.0
ANNOUNCEMENTS_QUEUE = 256


def ha_settings(daemon_settings: MqttSettings) -> MqttSettings:
    """The daemon's broker and login, a client id of its own, no topic prefix (the
    discovery prefix is Home Assistant's; the vipctl topics carry theirs already), no
    status topic (the entities' availability is the daemon's own)."""
    return dataclasses.replace(daemon_settings, client_id=f"{daemon_settings.client_id}-ha",
                               status_topic=None, topic_prefix="")


class HomeAssistant:
    """Start with the daemon, stop with it (idempotent). With `discovery` off it only
    removes the configs a former run left on the broker."""

    def __init__(self, *, settings: MqttSettings, site: HaSite, discovery: bool,
                 summary: Callable[[], Summary], events: EventLog,
                 press: Callable[[str, str], Coroutine[Any, Any, object]],
                 clock: Callable[[], datetime]) -> None:
        self.site = site
        self.discovery = discovery
        self.configs = configs(site) if discovery else {}
        self.transport = MqttTransport(ha_settings(settings))
        self.presses = 0  # presses taken from Home Assistant (tests and status)
        self.removed: list[str] = []  # configs removed (tests)
        self._summary = summary
        self._events = events
        self._press = press
        self._clock = clock
        self._tasks = TaskSet("homeassistant", logger=log)
        self._last_state: bytes | None = None
        self._started = False

    async def start(self) -> None:
        if self._started:
            return
        self._started = True
        self.transport.subscribe(self.site.own_configs, self._on_config)
        self.transport.add_connection_listener(self._on_connection)
        if self.discovery:
            self.transport.subscribe(self.site.birth_topic, self._on_birth)
            self.transport.subscribe(f"{self.site.base}/press/+", self._on_press)
            self._tasks.spawn(self._states(), "state")
            self._tasks.spawn(self._announcements(), "announcements")
        await self.transport.start()
        log.info("Home Assistant discovery %s under %s/ (node %s)",
                 "on" if self.discovery else "off: removing its configs", self.site.prefix,
                 self.site.node_id)

    async def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        await self._tasks.stop()
        await self.transport.close()

    # --- what Home Assistant sends ---------------------------------------------------------

    def _on_connection(self, up: bool) -> None:
        if up and self.discovery:
            self._tasks.spawn(self.announce_all(), "configs")
        elif up:  # off: the retained state goes with the configs
            self._tasks.spawn(self._publish(self.site.state_topic, b"", retain=True), "state")

    def _on_birth(self, topic: str, payload: bytes, retained: bool) -> None:
        if payload.strip() == b"online":
            self._tasks.spawn(self.announce_all(), "configs")

    def _on_config(self, topic: str, payload: bytes, retained: bool) -> None:
        if payload and topic not in self.configs:
            self.removed.append(topic)
            self._tasks.spawn(self._publish(topic, b"", retain=True), "remove")

    def _on_press(self, topic: str, payload: bytes, retained: bool) -> None:
        trigger = self.site.trigger_of(topic)
        if trigger is None:
            return
        if retained:  # kept on the broker by someone's mistake: an old press, not one now
            log.info("homeassistant: ignored a retained press on %s", topic)
            return
        if payload.decode(errors="replace").strip() != PRESS:
            log.warning("homeassistant: ignored %r on %s (a press is %r)", payload[:64], topic,
                        PRESS)
            return
        self.presses += 1
        self._tasks.spawn(self._press(trigger, SOURCE), f"press:{trigger}")

    # --- what vipctl sends -----------------------------------------------------------------

    async def announce_all(self) -> None:
        """Every config, then the state: after a (re)connection or Home Assistant's birth."""
        for topic, config in self.configs.items():
            await self._publish(topic, _json(config), retain=True)
        self._last_state = None
        await self.publish_state()

    async def publish_state(self) -> None:
        payload = _json(state(self._summary(), self._clock()))
        if payload != self._last_state and await self._publish(self.site.state_topic, payload,
                                                               retain=True):
            self._last_state = payload

    async def _states(self) -> None:
        async with self._events.subscribe(maxsize=1) as doorbell:
            while True:
                try:
                    await self.publish_state()
                except Exception:  # a database error now is not the end of the state
                    log.exception("homeassistant: the state could not be made")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(anext(doorbell), REFRESH_S)
                await asyncio.sleep(MIN_GAP_S)

    async def _announcements(self) -> None:
        async with self._events.subscribe(maxsize=ANNOUNCEMENTS_QUEUE) as feed:
            async for event in feed:
                if event.kind == "announcement" and event.result == "played":
                    await self._publish(self.site.announcement_topic,
                                        _json(announcement(self.site, dict(event.detail))))

    async def _publish(self, topic: str, payload: bytes, *, retain: bool = False) -> bool:
        try:
            await self.transport.publish(topic, payload, qos=1, retain=retain,
                                         timeout=PUBLISH_TIMEOUT_S)
        except TransportUnavailable as exc:
            log.info("homeassistant: %s not sent (%s); again at the next connection", topic, exc)
            return False
        return True


def _json(value: dict[str, Any]) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
