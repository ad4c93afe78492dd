"""The faults, one function per kind: inject, end, and time the recovery from outside.

A fault's end is the moment the world is whole again (the broker listening, the daemon
started, the device or port back, the link forwarding). Recovery is the time from there
until the daemon is back on the broker (its status topic says online again, for the faults
that cut it off) and, while a visit holds devices, every held device is in its held state
as the device itself reports it: the "holds back within 2 s" invariant.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from chaos.plan import DROP_SHARE, SLOW_SECONDS_PER_CHAR, PlannedFault
from chaos.recorder import Seen
from chaos.rig import BUTTON, INTERCOM, Rig
from controller.engine.engine import TRIGGER_STATUS
from simulators.base import Faults
from simulators.serial_link import SerialFaults
from simulators.vipctl_intercom import SECONDS_PER_CHAR

RECOVERY_LIMIT_S = 30.0  # beyond this the fault is recorded as never recovered
POLL_S = 0.01
# How long the commit-window kill waits for its press's announcement to come by.
ARMED_S = 30.0
# The devices the device-offline fault may take away: held ones, the intercom, the music.
OFFLINE_CANDIDATES = ("model_area_lights", "hall_lights", "vip_room_video", INTERCOM,
                      "background_music")
SAY_TOPIC = "vipctl/intercom/staff/say"
# The cue each press sets off, whose announcement the commit-window kill waits for.
PRESS_CUE = {"arrival": "f1-arrival", "show_flat": "f7-show-flat", "departure": "f13-departure"}


@dataclass
class FaultRecord:
    kind: str
    visit: int
    target: str = ""
    started: float = 0.0  # time.monotonic()
    ended: float = 0.0
    recovered_s: float | None = None
    holds_at_end: bool = False
    injected: bool = True
    detail: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


Injector = Callable[[Rig, PlannedFault, str], Awaitable[FaultRecord]]


async def recover(rig: Rig, record: FaultRecord, *, online_from: int | None = None,
                  also: Callable[[], bool] | None = None) -> FaultRecord:
    """Wait for the recovery after `record.ended` and note how long it took."""
    record.holds_at_end = rig.holds_active()
    deadline = record.ended + RECOVERY_LIMIT_S
    while time.monotonic() < deadline:
        if ((online_from is None or rig.online_since(online_from))
                and (also is None or also())
                and (rig.held_right() or not rig.holds_active())):
            record.recovered_s = time.monotonic() - record.ended
            break
        await asyncio.sleep(POLL_S)
    return record


def _mark(rig: Rig) -> int:
    assert rig.recorder is not None
    return rig.recorder.count()


async def broker_kill(rig: Rig, f: PlannedFault, visit_id: str) -> FaultRecord:
    mark = _mark(rig)
    record = FaultRecord(f.kind, f.visit, "mosquitto", time.monotonic())
    rig.broker.kill()
    await asyncio.sleep(f.duration_s)
    await asyncio.to_thread(rig.broker.start)
    record.ended = time.monotonic()
    return await recover(rig, record, online_from=mark)


async def daemon_kill(rig: Rig, f: PlannedFault, visit_id: str) -> FaultRecord:
    mark = _mark(rig)
    record = FaultRecord(f.kind, f.visit, "vipctl", time.monotonic())
    rig.kill_daemon()
    await _down(rig, record, f.duration_s)
    return await recover(rig, record, online_from=mark)


async def _down(rig: Rig, record: FaultRecord, seconds: float) -> None:
    """While the daemon is down, someone switches the held devices off (a command the
    killed daemon had sent may still land: switched off once more, a moment later)."""
    if rig.holds_active():
        record.detail["switched_off"] = True
        await rig.switch_off_held()
        await asyncio.sleep(0.1)
        await rig.switch_off_held()
    await asyncio.sleep(max(0.0, seconds - 0.1))
    rig.start_daemon()
    record.ended = time.monotonic()


async def daemon_kill_commit(rig: Rig, f: PlannedFault, visit_id: str) -> FaultRecord:
    """SIGKILL the instant a press's announcement crosses the broker: its status change
    and step claims are still in Database.defer's window (committed ≤ 10 ms later). Armed
    for this visit's press or, if an earlier fault held it up past it, a later visit's."""
    assert rig.recorder is not None
    recorder = rig.recorder
    wanted = f":{PRESS_CUE[f.trigger]}:"
    fired = asyncio.Event()
    loop = asyncio.get_running_loop()
    record = FaultRecord(f.kind, f.visit, f.trigger)
    mark = 0

    def first_say(seen: Seen) -> bool:
        """A press's announcement going out, not the intercom being asked again for one
        (a re-send after a lost confirmation is not in the commit window)."""
        if seen.topic != SAY_TOPIC or wanted not in seen.payload:
            return False
        said = json.loads(seen.payload)["id"]
        return not any(m.topic == SAY_TOPIC and said in m.payload for m in recorder.since(0))

    def hook(seen: Seen) -> None:  # the recorder's thread
        nonlocal mark
        if not fired.is_set() and first_say(seen):
            rig.sigkill_now()
            record.started = time.monotonic()
            mark = recorder.count()
            recorder.hooks.remove(hook)
            record.detail["payload"] = seen.payload
            loop.call_soon_threadsafe(fired.set)

    recorder.hooks.append(hook)
    try:
        await asyncio.wait_for(fired.wait(), ARMED_S)
    except TimeoutError:
        if hook in recorder.hooks:
            recorder.hooks.remove(hook)
        record.injected = False
        record.detail["why"] = f"no announcement for {f.trigger} within {ARMED_S:g} s"
        return record
    rig.kill_daemon()
    killed_in = json.loads(record.detail["payload"])["id"].split(":")[0]
    record.detail["visit_id"] = killed_in
    # Inside the window, the press was lost whole: its status is not in the database.
    record.detail["press_lost"] = TRIGGER_STATUS[f.trigger].value not in rig.statuses(killed_in)
    await _down(rig, record, f.duration_s)
    return await recover(rig, record, online_from=mark)


async def command_drop(rig: Rig, f: PlannedFault, visit_id: str) -> FaultRecord:
    record = FaultRecord(f.kind, f.visit, f"{DROP_SHARE:.0%} of commands", time.monotonic())
    knobs: list[Faults | SerialFaults] = [s.faults for d, s in rig.sims.devices.items()
                                          if d != BUTTON]
    knobs += [s.faults for s in rig.serial.sims.values()]
    before = _lost(rig)
    for i, knob in enumerate(knobs):
        knob.rng = random.Random(f.seed + i)
        knob.drop_commands = DROP_SHARE
    await asyncio.sleep(f.duration_s)
    for knob in knobs:
        knob.drop_commands = 0.0
    record.ended = time.monotonic()
    record.detail["lost"] = _lost(rig) - before
    return await recover(rig, record)


def _lost(rig: Rig) -> int:
    return (sum(s.lost for s in rig.sims.devices.values())
            + sum(s.lost for s in rig.serial.sims.values()))


async def device_offline(rig: Rig, f: PlannedFault, visit_id: str) -> FaultRecord:
    device_id = random.Random(f.seed).choice(OFFLINE_CANDIDATES)
    sim = rig.sims[device_id]
    record = FaultRecord(f.kind, f.visit, device_id, time.monotonic())
    await sim.go_offline()
    if device_id in rig.held and rig.holds_active():  # switched off while it was away
        sim.state["power"] = False
        record.detail["switched_off"] = True
    await asyncio.sleep(f.duration_s)
    await sim.come_back()
    record.ended = time.monotonic()
    return await recover(rig, record)


async def serial_vanish(rig: Rig, f: PlannedFault, visit_id: str) -> FaultRecord:
    port = random.Random(f.seed).choice(("dmx_widget", "ac_gateway"))
    sim = rig.serial[port]
    record = FaultRecord(f.kind, f.visit, port, time.monotonic())
    await sim.vanish()
    await asyncio.sleep(f.duration_s)
    heard = len(sim.received)
    await sim.come_back()
    record.ended = time.monotonic()
    # Back when vipctl has written to the port again (reopened it).
    return await recover(rig, record, also=lambda: len(sim.received) > heard)


async def intercom_slow(rig: Rig, f: PlannedFault, visit_id: str) -> FaultRecord:
    gateway = rig.intercom
    record = FaultRecord(f.kind, f.visit, INTERCOM, time.monotonic())
    gateway.seconds_per_char = SLOW_SECONDS_PER_CHAR
    await asyncio.sleep(f.duration_s)
    gateway.seconds_per_char = SECONDS_PER_CHAR
    record.ended = time.monotonic()
    # Back when what was queued meanwhile has been said.
    return await recover(rig, record, also=lambda: len(gateway.queue) == 0)


async def half_open(rig: Rig, f: PlannedFault, visit_id: str) -> FaultRecord:
    assert rig.proxy is not None
    proxy = rig.proxy
    mark = _mark(rig)
    record = FaultRecord(f.kind, f.visit, "daemon ↔ broker", time.monotonic())
    connections = len(proxy.accepted)
    proxy.blackhole()
    if rig.holds_active():  # the daemon cannot hear this: its next report must show it
        record.detail["switched_off"] = True
        await rig.switch_off_held()
    await asyncio.sleep(f.duration_s)
    proxy.restore()
    record.ended = time.monotonic()
    again = proxy.accepted[connections:]
    # The keepalive found it: the daemon gave up on the dead link and dialled again.
    record.detail["found_after_s"] = round(again[0] - record.started, 3) if again else None
    return await recover(rig, record, online_from=mark)


INJECTORS: dict[str, Injector] = {
    "broker-kill": broker_kill,
    "daemon-kill": daemon_kill,
    "daemon-kill-commit": daemon_kill_commit,
    "command-drop": command_drop,
    "device-offline": device_offline,
    "serial-vanish": serial_vanish,
    "intercom-slow": intercom_slow,
    "half-open": half_open,
}
