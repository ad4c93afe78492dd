"""A visit's holds beginning while the last visit's restore is still on its way (found by the
chaos campaign): back-to-back bookings do exactly this, since the next guest's lights are
held from start-5m and the last guest's restore comes at departure+5m or the booked end.

The new claim took the device's report as what to go back to, and the report still said
"on" (the restore's "off" not yet confirmed): its own restore then left the lights on, and
every visit after it did the same.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.broker import Mosquitto
from tests.scenario.rig import site_rig
from tests.waiting import eventually

REPLY_DELAY_S = 0.5  # the hall lights confirm slowly (a busy Zigbee network)


async def test_a_claim_made_during_a_restore_goes_back_to_off(
    tmp_path: Path, mosquitto: Mosquitto, topic_prefix: str
) -> None:
    async with site_rig(tmp_path, mosquitto, topic_prefix,
                        initial={"hall_lights": {"power": False}}) as rig:
        executor = rig.daemon.executor
        lights = rig.sims["hall_lights"]
        lights.faults.reply_delay = REPLY_DELAY_S

        async def hold(visit: str) -> None:
            await executor.apply(f"visit:{visit}", 50, "hall_lights", {"power": True},
                                 hold=True, visit_id=None, step="test")

        await hold("a")
        assert lights.state["power"] is True
        restoring = asyncio.create_task(
            executor.release(["visit:a"], visit_id=None, step="restore"))
        await eventually(lambda: lights.state["power"] is False)  # "off" arrived, unconfirmed
        assert rig.daemon.registry["hall_lights"].state["power"] is True
        await hold("b")  # the next visit's hold begins now
        await restoring
        hall = rig.daemon.registry["hall_lights"]
        await eventually(lambda: hall.state["power"] is True and not hall.busy)  # held for b
        await executor.release(["visit:b"], visit_id=None, step="restore")
        await eventually(lambda: lights.state["power"] is False
                         and not lights.answering)
        assert rig.daemon.registry["hall_lights"].state["power"] is False
