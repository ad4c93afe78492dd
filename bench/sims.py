"""The simulators of a bench site, in their own process: `python -m bench.sims SITE [IDS]`.

IDS (comma-separated) limits them to some devices. The intercom gateway speaks instantly,
so that the bench measures vipctl and not the speech time. Prints "ready" once every
simulator is connected, then runs until SIGTERM.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

from controller.config.site import load_site
from simulators.site import SiteSimulators
from simulators.vipctl_intercom import VipctlIntercomGateway


async def main(site_path: str, only: str = "") -> None:
    site = load_site(Path(site_path))
    specs = {k: v for k, v in site.devices.items() if not only or k in only.split(",")}
    host, port, _ = site.mqtt.connection
    sims = SiteSimulators(specs, host=host, port=port, topic_prefix=site.mqtt.topic_prefix)
    for sim in sims.devices.values():
        if isinstance(sim, VipctlIntercomGateway):
            sim.seconds_per_char = 0.0
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    async with sims:
        print("ready", flush=True)
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:3]))
