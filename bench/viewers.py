"""Clients reading the API as fast as it answers, as the probe's script did.

    python -m bench.viewers URL TOKEN CLIENTS [PATH]

Each client loops GET PATH (default /visits) with the bearer TOKEN. Prints "ready" once
every client has had an answer; on SIGTERM prints the answers counted by status as JSON
and exits.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections import Counter

import httpx


async def main(url: str, token: str, clients: int, path: str) -> None:
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    answers: Counter[int] = Counter()
    first = [asyncio.Event() for _ in range(clients)]

    async def loop(i: int) -> None:
        async with httpx.AsyncClient(base_url=url, timeout=60,
                                     headers={"Authorization": f"Bearer {token}"}) as http:
            while not stop.is_set():
                answers[(await http.get(path)).status_code] += 1
                first[i].set()

    tasks = [asyncio.create_task(loop(i)) for i in range(clients)]
    await asyncio.gather(*(e.wait() for e in first))
    print("ready", flush=True)
    await stop.wait()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    print(json.dumps({str(k): v for k, v in sorted(answers.items())}), flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]),
                     sys.argv[4] if len(sys.argv) > 4 else "/visits"))
