"""How fast serial devices answer on this machine: `python -m tests.serial.measure`.

For each convention, over a real pty: a command's time to confirmation (for DMX, to the
widget's frame), and the time from a pulled port's return to the device being available
again. Prints a markdown table.
"""

from __future__ import annotations

import asyncio
import logging
import statistics
import tempfile
import time
from pathlib import Path

from devices.model import StateValue
from tests.serial.rig import CASES, SerialRig, serial_rig
from tests.waiting import eventually

COMMANDS = 200
RETURNS = 5
# How often the measurement looks (finer than the tests' 10 ms, which would dominate DMX).
POLL_S = 0.0002
# How long a pulled port stays away before it comes back: long enough for the port's reopen
# attempts to back off, as a real unplugged adapter's would.
GONE_S = 0.3


async def command_latency(rig: SerialRig) -> list[float]:
    states: list[dict[str, StateValue]] = [dict(rig.case.desired), dict(rig.case.initial)]
    if not rig.reads_state:
        states = [{"power": True}, {"power": False}]
    out = []
    for i in range(COMMANDS):
        wanted = states[i % 2]
        frames = getattr(rig.sim, "frames", 0)
        start = time.perf_counter()
        assert (await rig.device.command(wanted)).ok
        if not rig.reads_state:  # assumed: wait for the widget to have the frame
            await eventually(lambda f=frames: rig.sim.frames > f,  # type: ignore[attr-defined]
                             poll=POLL_S)
        out.append(time.perf_counter() - start)
    return out


async def reopen_time(rig: SerialRig) -> list[float]:
    out = []
    for _ in range(RETURNS):
        await rig.sim.vanish()
        await eventually(lambda: rig.device.available is False)
        await asyncio.sleep(GONE_S)  # not a settle: the time the port stays away
        start = time.perf_counter()
        await rig.sim.come_back()
        await eventually(lambda: rig.device.available is True, poll=POLL_S)
        out.append(time.perf_counter() - start)
    return out


def ms(values: list[float], q: float) -> str:
    return f"{statistics.quantiles(values, n=100)[int(q) - 1] * 1000:.2f}"


async def main() -> None:
    print("| device | command → confirmed, median / p95 (ms) | port back → available, "
          "median / max (s) |")
    print("|---|---|---|")
    for case in CASES:
        if case.link != "pty":
            continue
        with tempfile.TemporaryDirectory() as tmp:
            async with serial_rig(case, Path(tmp), reopen_max=1.0) as rig:
                await eventually(lambda r=rig: r.device.available is True)  # type: ignore[misc]
                latency = await command_latency(rig)
                back = await reopen_time(rig)
        print(f"| {case.id} | {ms(latency, 50)} / {ms(latency, 95)} | "
              f"{statistics.median(back):.2f} / {max(back):.2f} |")


if __name__ == "__main__":
    logging.basicConfig(level=logging.ERROR)  # the pulled ports' warnings are expected
    asyncio.run(main())
