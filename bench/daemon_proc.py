"""The daemon as `vipctl run` runs it, plus a hook to read its device states from outside.

    python -m bench.daemon_proc SITE SCENE DUMP_PATH

Prints "ready" once started; on SIGUSR1 writes every device's snapshot (state, last report)
as JSON to DUMP_PATH and prints "dumped N"; stops cleanly on SIGTERM. The bench uses it
where it needs the daemon's view of 1,000 devices at one instant, without the HTTP API
(whose authentication is its own business).
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import sys
from pathlib import Path

from controller.config.scene import load_scene_for
from controller.config.site import load_site
from controller.daemon import Daemon


async def main(site_path: str, scene_path: str, dump_path: str) -> None:
    site = load_site(Path(site_path))
    scene = load_scene_for(site, Path(scene_path))
    daemon = Daemon(site, scene)
    dumps = 0

    def dump() -> None:
        nonlocal dumps
        dumps += 1
        snapshot = daemon.registry.snapshot()
        Path(dump_path).write_text(json.dumps(snapshot, ensure_ascii=False))
        print(f"dumped {dumps}", flush=True)

    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, daemon.stopping.set)
    loop.add_signal_handler(signal.SIGUSR1, dump)
    async with daemon:
        print("ready", flush=True)
        await daemon.stopping.wait()


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(main(*sys.argv[1:4]))
