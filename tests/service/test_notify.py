"""The notification protocol on its own: datagrams on a real AF_UNIX socket, the watchdog's
interval as systemd passes it, and nothing at all outside systemd."""

from __future__ import annotations

import asyncio
import os
import secrets
import socket

from controller.service.notify import Notifier, notifying, watchdog_interval
from tests.waiting import eventually


def test_watchdog_interval_is_systemds_and_only_for_the_process_it_names() -> None:
    assert watchdog_interval({"WATCHDOG_USEC": "20000000"}) == 20.0
    mine = {"WATCHDOG_USEC": "500000", "WATCHDOG_PID": str(os.getpid())}
    assert watchdog_interval(mine) == 0.5
    # A child that inherited its parent's environment (espeak-ng, a player) must not ping.
    assert watchdog_interval({"WATCHDOG_USEC": "500000", "WATCHDOG_PID": "1"}) is None
    assert watchdog_interval({"WATCHDOG_USEC": "0"}) is None
    assert watchdog_interval({"WATCHDOG_USEC": "soon"}) is None
    assert watchdog_interval({}) is None


async def test_outside_systemd_nothing_is_sent_and_nothing_pings() -> None:
    notifier = Notifier.from_environment({"WATCHDOG_USEC": "100000"})
    assert notifier.watchdog_s is None
    notifier.ready("running")
    notifier.stopping()
    await asyncio.wait_for(notifier.ping_watchdog(), 1)  # returns at once
    notifier.close()


async def test_abstract_socket_gets_ready_pings_and_one_stopping() -> None:
    """systemd may name an abstract socket (`@...`); each notification is one datagram."""
    name = f"vipctl-test-{secrets.token_hex(6)}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as manager:
        manager.bind("\0" + name)
        manager.setblocking(False)
        got: list[str] = []

        async def receive() -> None:
            while True:
                got.append((await asyncio.get_running_loop().sock_recv(manager, 4096)).decode())

        receiver = asyncio.create_task(receive())
        try:
            async with notifying({"NOTIFY_SOCKET": f"@{name}", "WATCHDOG_USEC": "100000"}
                                 ) as notifier:
                notifier.ready("running for 演示案场")
                await eventually(lambda: got.count("WATCHDOG=1") >= 2)
                notifier.stopping()
            await eventually(lambda: "STOPPING=1\nSTATUS=stopping" in got)
        finally:
            receiver.cancel()
    assert got.count("READY=1\nSTATUS=running for 演示案场") == 1
    assert got.count("STOPPING=1\nSTATUS=stopping") == 1  # said once, not again at the end
