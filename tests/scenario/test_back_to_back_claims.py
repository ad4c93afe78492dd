"""Restores and claims while the devices are still on their way (found by the chaos
campaign).

A visit's holds beginning while the last visit's restore is on its way: back-to-back
bookings do exactly this (the next guest's lights are held from start-5m, the last guest's
restore comes at departure+5m or the booked end). The new claim took the device's report as
what to go back to, and the report still said "on": its own restore then left the lights
on, and every visit after it did the same.

A restore killed while its commands waited for confirmation: it had saved the claims
without the visit already, so the restore run again at start-up found nothing to release.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from controller.engine.executor import CLAIMS_KEY
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


async def test_a_restore_is_saved_only_once_the_devices_are_back(
    tmp_path: Path, mosquitto: Mosquitto, topic_prefix: str
) -> None:
    """Killed while a restore's commands wait for their confirmations, the daemon must
    find the visit's claims at start-up, so that the restore run again sets devices back."""
    async with site_rig(tmp_path, mosquitto, topic_prefix,
                        initial={"hall_lights": {"power": False}}) as rig:
        executor, db = rig.daemon.executor, rig.daemon.db
        lights = rig.sims["hall_lights"]
        await executor.apply("visit:a", 50, "hall_lights", {"power": True}, hold=True,
                             visit_id=None, step="test")
        lights.faults.reply_delay = REPLY_DELAY_S

        def saved_layers() -> set[str]:
            db.flush_deferred()
            saved = db.load_value(CLAIMS_KEY) or {}
            return {c["layer"] for c in saved.get("claims", [])}

        restoring = asyncio.create_task(executor.release(
            ["visit:a"], visit_id=None, step="restore", defer_save=True))
        await eventually(lambda: lights.state["power"] is False)  # sent, not yet confirmed
        assert "visit:a" in saved_layers()
        await restoring
        assert "visit:a" not in saved_layers()
