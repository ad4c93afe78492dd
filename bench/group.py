"""One command to a group of 200 lights → every one of them confirmed.

The daemon runs in the bench's own event loop here (its executor is the entry point a cue
uses: claim, then command every member at once); the 200 simulated lights, half Tasmota and
half Zigbee2MQTT, answer from their own process, behind one connection (bench.multisim).
Each round flips the group (on, off, on ...); a round ends when every light has reported the
new state back.
"""

from __future__ import annotations

import asyncio
import logging
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from bench import sitegen
from bench.procs import python_module
from bench.stats import Row
from controller.config.site import load_site
from controller.daemon import Daemon
from scenes.loader import load_scene
from tests.broker import Mosquitto

GROUP = "bench_group"
GROUP_CONFIRMED_MS = 50.0  # target (issue 16)
SETTLE_S = 10.0  # how long the lights may take to answer the daemon's start-up query


@dataclass(frozen=True)
class GroupConfig:
    lights: int = 200
    rounds: int = 6


async def rounds(site_path: Path, scene_path: Path, config: GroupConfig) -> list[float]:
    # The daemon runs in this process: its log goes to the work folder, as a child's would.
    handler = logging.FileHandler(site_path.with_name("group-daemon.log"))
    logging.getLogger().addHandler(handler)
    try:
        return await _rounds(site_path, scene_path, config)
    finally:
        logging.getLogger().removeHandler(handler)
        handler.close()


async def _rounds(site_path: Path, scene_path: Path, config: GroupConfig) -> list[float]:
    site = load_site(site_path)
    scene = load_scene(scene_path, known_targets=set(site.devices) | set(site.groups))
    elapsed = []
    async with Daemon(site, scene) as daemon:
        lights = daemon.registry.resolve(GROUP)
        async with asyncio.timeout(SETTLE_S):
            while any(d.last_report is None for d in lights):  # noqa: ASYNC110 - polled
                await asyncio.sleep(0.05)
        for r in range(config.rounds):
            t0 = time.perf_counter()
            results = await daemon.executor.apply(
                "bench", 50, GROUP, {"power": r % 2 == 0}, hold=False, visit_id=None,
                step="bench")
            elapsed.append((time.perf_counter() - t0) * 1000)
            failed = [res.device_id for res in results if not res.ok]
            if failed or len(results) != config.lights:
                raise RuntimeError(f"round {r}: {len(results)} commands, failed: {failed[:5]}")
            await asyncio.sleep(0.2)
    return elapsed


def run(broker: Mosquitto, work: Path, config: GroupConfig) -> list[Row]:
    lights = dict(sitegen.light(i) for i in range(config.lights))
    site = sitegen.write_site(
        work / "group-site.yaml", broker_url=broker.url, database=work / "group.db",
        devices={**lights, "concierge_button": sitegen.BUTTON,
                 "staff_intercom": sitegen.INTERCOM},
        groups={GROUP: list(lights)})
    scene = sitegen.trigger_scene(work / "group-scene.yaml")
    sims = python_module("sims", work / "group-sims.log", "bench.multisim", str(site),
                         ",".join(lights))
    try:
        sims.wait_for("ready")
        elapsed = asyncio.run(rounds(site, scene, config))
    finally:
        sims.stop()
    values = {"rounds_ms": elapsed, "median": statistics.median(elapsed), "max": max(elapsed)}
    return [Row(f"one command to a group of {config.lights} lights → all confirmed",
                f"median {statistics.median(elapsed):.0f} · max {max(elapsed):.0f} ms "
                f"({config.rounds} rounds)",
                f"≤ {GROUP_CONFIRMED_MS:g} ms", max(elapsed) <= GROUP_CONFIRMED_MS, values)]
