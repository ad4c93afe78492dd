"""`vipctl run` under a service manager: systemd's notifications, read from a real AF_UNIX
datagram socket given to a real `vipctl run` as $NOTIFY_SOCKET, as systemd gives it."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import IO

import httpx

from tests.broker import Mosquitto, free_port
from tests.cli.helpers import ENV, group_gone, kill_group
from tests.scenario.rig import site_file
from tests.waiting import eventually

BLOCKING_VIPCTL = Path(__file__).with_name("blocking_vipctl.py")
# systemd's WatchdogSec= as it passes it: vipctl pings every half of it (0.15 s).
WATCHDOG_USEC = 300_000
# How long the test blocks the loop: over three watchdog timeouts, when systemd would have
# killed the service long before.
BLOCK_S = 1.0


class NotifySocket:
    """systemd's side: a bound datagram socket and every message it received, in order."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.setblocking(False)
        self.messages: list[str] = []

    async def receive(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            self.messages.append((await loop.sock_recv(self.sock, 4096)).decode())

    def lines(self) -> list[str]:
        return [line for message in self.messages for line in message.splitlines()]


@asynccontextmanager
async def notify_socket(tmp_path: Path) -> AsyncIterator[NotifySocket]:
    notify = NotifySocket(tmp_path / "notify")
    task = asyncio.create_task(notify.receive())
    try:
        yield notify
    finally:
        task.cancel()
        notify.sock.close()


def start_run(config: Path, api_port: int, notify: NotifySocket, journal: IO[str],
              ) -> subprocess.Popen[str]:
    """`vipctl run` as systemd starts it: $NOTIFY_SOCKET, $WATCHDOG_USEC, and stderr the
    journal's stream, named by $JOURNAL_STREAM (here a file, identified the same way)."""
    st = os.fstat(journal.fileno())
    env = {**ENV, "NOTIFY_SOCKET": str(notify.path), "WATCHDOG_USEC": str(WATCHDOG_USEC),
           "VIPCTL_TEST_BLOCK_S": str(BLOCK_S), "JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"}
    return subprocess.Popen(
        [sys.executable, str(BLOCKING_VIPCTL), "run", "--config", str(config),
         "--api-port", str(api_port), "--log-json"],
        env=env, stdout=subprocess.PIPE, stderr=journal, text=True, start_new_session=True)


async def test_ready_after_the_api_answers_watchdog_from_the_loop_stopping_on_sigterm(
    tmp_path: Path, mosquitto: Mosquitto, topic_prefix: str
) -> None:
    config = site_file(tmp_path, mosquitto, topic_prefix)
    api_port = free_port()
    journal = tmp_path / "journal"
    async with notify_socket(tmp_path) as notify:
        with journal.open("w", encoding="utf-8") as stderr:  # the child has its own copy
            proc = start_run(config, api_port, notify, stderr)
        try:
            await eventually(lambda: "READY=1" in notify.lines(), timeout=30)
            # READY=1 means started: the API answers at once, not after a retry.
            async with httpx.AsyncClient() as client:
                reply = await client.get(f"http://127.0.0.1:{api_port}/openapi.json")
            assert reply.status_code == 200
            assert any(line.startswith("STATUS=running for") for line in notify.lines())

            # The pings keep coming, from the event loop.
            def pings_after(marker: str) -> int:
                lines = notify.lines()
                return lines[lines.index(marker):].count("WATCHDOG=1")

            await eventually(lambda: pings_after("READY=1") >= 3)

            # A blocked loop sends no ping until it runs again.
            proc.send_signal(signal.SIGUSR1)
            await eventually(lambda: "X-TEST=unblocked" in notify.lines(), timeout=15)
            lines = notify.lines()
            blocked = lines[lines.index("X-TEST=blocked"):lines.index("X-TEST=unblocked")]
            assert "WATCHDOG=1" not in blocked, blocked
            await eventually(lambda: pings_after("X-TEST=unblocked") >= 1)

            proc.send_signal(signal.SIGTERM)
            code = await asyncio.to_thread(proc.wait, 15)
            assert code == 0, journal.read_text(encoding="utf-8")
        finally:
            kill_group(proc)
        assert group_gone(proc)
        await eventually(lambda: "STOPPING=1" in notify.lines())
    lines = notify.lines()
    assert lines.count("READY=1") == 1
    assert lines.index("READY=1") < lines.index("STOPPING=1")
    # Its log in the journal, --log-json: a syslog priority, then one JSON object a line.
    logged = journal.read_text(encoding="utf-8").splitlines()
    assert all(re.match(r"<[2-7]>{", line) for line in logged), logged
    entries = [json.loads(line[3:]) for line in logged]
    assert {"level": "INFO", "logger": "controller.daemon",
            "message": "vipctl running for 演示案场 (11 devices, speed x1)"} in [
        {k: e[k] for k in ("level", "logger", "message")} for e in entries]

