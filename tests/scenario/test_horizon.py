"""A year of bookings: only the next day's visits are timers; a sweep brings the rest in.

The engine's clock is the test's, so that days pass in a moment; the scheduler's jobs are
what the engine will fire, by visit and step.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from controller.config.site import load_site
from controller.daemon import Daemon
from controller.engine.engine import HORIZON
from controller.store.requests import VisitRequest
from scenes.loader import load_scene
from tests.broker import Mosquitto
from tests.scenario.rig import site_file


def jobs_of(daemon: Daemon, visit_id: str) -> dict[str, datetime]:
    return daemon.engine.timers.due(visit_id)


async def test_far_visits_wait_for_the_sweep(
    tmp_path: Path, mosquitto: Mosquitto, topic_prefix: str
) -> None:
    site = load_site(site_file(tmp_path, mosquitto, topic_prefix))
    scene = load_scene(known_targets=set(site.devices) | set(site.groups))
    now = datetime.now(site.site.tz).replace(microsecond=0)
    clock = [now]
    async with Daemon(site, scene, clock=lambda: clock[0]) as daemon:
        async def book(start: datetime) -> str:
            request = VisitRequest.model_validate({"surname": "王", "honorific": "先生",
                                                   "start": start})
            return (await daemon.engine.book_visit(request, source="test")).id

        soon = await book(now + timedelta(hours=2))
        later = await book(now + HORIZON + timedelta(hours=3))
        assert jobs_of(daemon, soon)["p10-air-conditioning"] == now + timedelta(minutes=75)
        assert jobs_of(daemon, later) == {}

        clock[0] = now + timedelta(hours=2)  # a sweep before the visit is within reach
        await daemon.engine.sweep()
        assert jobs_of(daemon, later) == {}

        clock[0] = now + timedelta(hours=3)  # within a day and its 45-minute lead
        await daemon.engine.sweep()
        assert jobs_of(daemon, later)["p10-air-conditioning"] == (
            now + HORIZON + timedelta(hours=3) - timedelta(minutes=45))
        assert "no-show" in jobs_of(daemon, later)
