"""Everything a campaign runs, and what it can see of it from outside the daemon.

The broker (persistent), the recorder on `#` (started first), the blackhole proxy, the MQTT
simulators and the serial ones in this process's event loop (as real devices keep running
whatever vipctl does), and `vipctl run` as a child process. What the rig reads: the
broker's record, the database (sqlite3, read-only statements), and the devices' own state.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from bench.procs import Child, vipctl_run
from bench.recovery import ChangedByHand, held_states
from chaos.broker import PersistentBroker
from chaos.proxy import BlackholeProxy
from chaos.recorder import Recorder
from chaos.site import AC, AC_UNIT, SAND_TABLE, SAND_TABLE_CHANNELS, STATUS_TOPIC, write_site
from controller.config.site import load_site
from controller.demo.serial import simulated
from devices.model import StateValue, matches
from simulators.coolmaster import CoolMasterSimulator
from simulators.dmx import DmxWidgetSimulator
from simulators.serial_site import SerialSimulators
from simulators.site import SiteSimulators
from simulators.vipctl_intercom import VipctlIntercomGateway

INTERCOM = "staff_intercom"
BUTTON = "concierge_button"
# The states the devices are in before the first visit (the restore brings them back).
INITIAL: dict[str, dict[str, StateValue]] = {
    "model_area_lights": {"power": False}, "hall_lights": {"power": False},
    "spotlights": {"power": False}, "vip_room_video": {"power": False}}


class Rig:
    def __init__(self, work: Path, *, speed: float) -> None:
        self.work = work
        self.speed = speed
        self.broker = PersistentBroker()
        self.proxy: BlackholeProxy | None = None
        self.recorder: Recorder | None = None
        self.daemon: Child | None = None
        self.daemon_starts = 0
        self.site_path = work / "site.yaml"
        self.db_path = work / "vipctl.db"
        self.held: dict[str, dict[str, StateValue]] = {}
        self.sims: SiteSimulators
        self.serial: SerialSimulators

    # --- start and stop -------------------------------------------------------------------

    @asynccontextmanager
    async def running(self) -> AsyncIterator[Rig]:
        """Broker, recorder, proxy, site file, simulators; the daemon is started by the caller
        (after the bookings)."""
        self.broker.start()
        try:
            self.recorder = Recorder(self.broker.host, self.broker.port,
                                     self.work / "traffic.jsonl")
            async with BlackholeProxy(self.broker.host, self.broker.port) as proxy:
                self.proxy = proxy
                write_site(self.work, broker_url=proxy.url)
                site = load_site(self.site_path)
                self.held = held_states(self.site_path)
                self.sims = SiteSimulators(simulated(site.devices), host=self.broker.host,
                                           port=self.broker.port)
                for device_id, state in INITIAL.items():
                    self.sims[device_id].state.update(state)
                self.serial = SerialSimulators(site.devices, site.serial_ports, self.work)
                async with self.sims, self.serial:
                    try:
                        yield self
                    finally:
                        self.stop_daemon()
        finally:
            if self.recorder is not None:
                self.recorder.close()
            self.broker.stop()

    def start_daemon(self) -> Child:
        self.daemon = vipctl_run(self.work / "daemon.log", self.site_path, speed=self.speed)
        self.daemon_starts += 1
        return self.daemon

    def kill_daemon(self) -> None:
        if self.daemon is not None:
            self.daemon.kill()

    def sigkill_now(self) -> None:
        """SIGKILL from any thread, at once (the recorder's hook); kill_daemon() reaps it."""
        if self.daemon is not None and self.daemon.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.daemon.pid, signal.SIGKILL)

    def stop_daemon(self) -> None:
        if self.daemon is not None:
            self.daemon.stop()

    # --- what is seen from outside --------------------------------------------------------

    @property
    def intercom(self) -> VipctlIntercomGateway:
        sim = self.sims[INTERCOM]
        assert isinstance(sim, VipctlIntercomGateway)
        return sim

    @property
    def dmx(self) -> DmxWidgetSimulator:
        sim = self.serial["dmx_widget"]
        assert isinstance(sim, DmxWidgetSimulator)
        return sim

    def query(self, sql: str, *args: object) -> list[tuple[object, ...]]:
        """One read of the daemon's database (WAL: never in the daemon's way)."""
        with contextlib.closing(sqlite3.connect(self.db_path, timeout=5)) as db:
            return db.execute(sql, args).fetchall()

    def statuses(self, visit_id: str) -> set[str]:
        rows = self.query("SELECT status FROM visit_status_history WHERE visit_id = ?",
                          visit_id)
        return {str(r[0]) for r in rows}

    def holds_active(self) -> bool:
        """Some visit has begun its holds and not yet been restored (by the ledger)."""
        rows = self.query(
            "SELECT 1 FROM executed_steps WHERE key LIKE 'hold:%' AND visit_id NOT IN "
            "(SELECT visit_id FROM executed_steps WHERE key = 'restore') LIMIT 1")
        return bool(rows)

    def held_right(self) -> bool:
        """Every held device is in its held state, as the device itself says."""
        for device_id, state in self.held.items():
            if device_id == SAND_TABLE:
                if not all(self.dmx.levels(SAND_TABLE_CHANNELS)):
                    return False
            elif not matches(self.sims[device_id].state, state):
                return False
        return True

    def online_since(self, index: int) -> bool:
        """The daemon said "online" on its status topic after record `index`, and nothing
        after that (a last will's "offline")."""
        assert self.recorder is not None
        said = [m.payload for m in self.recorder.since(index) if m.topic == STATUS_TOPIC]
        return bool(said) and said[-1] == "online"

    async def switch_off_held(self) -> None:
        """Someone switches the held lights and video off by hand (those that can be)."""
        for device_id in self.held:
            sim = self.sims.devices.get(device_id)
            if isinstance(sim, ChangedByHand) and sim is not None:
                with contextlib.suppress(RuntimeError, ValueError):  # offline: not reported
                    await sim.change_locally({"power": False})

    def ac_unit(self) -> dict[str, StateValue]:
        """The VIP room's air conditioner, as its gateway holds it."""
        sim = self.serial["ac_gateway"]
        assert isinstance(sim, CoolMasterSimulator)
        return dict(sim.units[AC_UNIT])


__all__ = ["AC", "BUTTON", "INTERCOM", "Rig"]
