"""The people at the site: the concierge button pressed for each visit, as staff would.

Arrival a moment after the booked start, then the show flat and the departure. A press
that a fault swallowed (the daemon down, the broker restarting, the link half-open) is
pressed again, as a concierge presses again when the intercom stays silent; the database
says whether a press was taken. A repeat of a press that was taken is refused by the
daemon and changes nothing, which is part of what the campaign checks.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

import aiomqtt

from chaos.rig import BUTTON, Rig
from chaos.site import Booked
from controller.engine.engine import TRIGGER_STATUS
from simulators.zigbee2mqtt import Button

log = logging.getLogger(__name__)

ARRIVE_AFTER_S = 0.2  # after the booked start
GAP_S = 0.3  # between one press taken and the next
TAKEN_WAIT_S = 1.0  # how long a press may take to show in the database before it is repeated
GIVE_UP_S = 60.0  # a press never taken in this long: the visit is left for the checker
POLL_S = 0.02
PRESS_TIMEOUT_S = 1.0  # a press not even sent by then is made again
ACTIONS = {"arrival": "single", "show_flat": "double", "departure": "hold"}
OVER = {"done", "no_show", "cancelled"}  # nothing left to press for


@dataclass
class PressLog:
    visit: str
    presses: dict[str, int] = field(default_factory=dict)  # trigger → times pressed
    taken_after_s: dict[str, float] = field(default_factory=dict)  # first press → taken
    given_up: list[str] = field(default_factory=list)


async def drive(rig: Rig, visits: list[Booked], clock_offset: float) -> list[PressLog]:
    """Receive every visit in turn. `clock_offset`: time.time() - time.monotonic()."""
    logs = []
    for visit in visits:
        start = visit.start.timestamp() - clock_offset
        await asyncio.sleep(max(0.0, start + ARRIVE_AFTER_S - time.monotonic()))
        logs.append(await receive(rig, visit))
    return logs


async def receive(rig: Rig, visit: Booked) -> PressLog:
    record = PressLog(visit.id)
    for trigger, action in ACTIONS.items():
        first = time.monotonic()
        if await press_until_taken(rig, visit.id, trigger, action, record):
            record.taken_after_s[trigger] = round(time.monotonic() - first, 3)
        else:
            record.given_up.append(trigger)
            return record
        await asyncio.sleep(GAP_S)
    return record


async def press_until_taken(rig: Rig, visit_id: str, trigger: str, action: str,
                            record: PressLog) -> bool:
    button = rig.sims[BUTTON]
    assert isinstance(button, Button)
    wanted = TRIGGER_STATUS[trigger].value
    deadline = time.monotonic() + GIVE_UP_S
    while time.monotonic() < deadline:
        try:
            # A QoS 1 publish whose broker dies before the PUBACK never returns: bounded.
            await asyncio.wait_for(button.press(action), PRESS_TIMEOUT_S)
            record.presses[trigger] = record.presses.get(trigger, 0) + 1
        except (RuntimeError, aiomqtt.MqttError, TimeoutError):  # the broker restarting
            await asyncio.sleep(0.1)
            continue
        waited = time.monotonic() + TAKEN_WAIT_S
        while time.monotonic() < waited:
            statuses = rig.statuses(visit_id)
            if wanted in statuses:
                return True
            if statuses & OVER:  # too late: the visit ended without it (the checker says)
                return False
            await asyncio.sleep(POLL_S)
    return False
