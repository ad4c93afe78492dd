"""systemd's service notifications (sd_notify(3)): READY=1, WATCHDOG=1, STOPPING=1.

The protocol is one datagram of `KEY=value` lines to the AF_UNIX socket named in
$NOTIFY_SOCKET (a leading `@` is Linux's abstract namespace). It is written here rather
than imported: sdnotify (no release since 2017) only sends the datagram, and the part that
matters, pinging from the event loop at the interval systemd asked for, is vipctl's either
way; systemd's own binding (systemd-python) needs libsystemd's headers and a compiler.

The watchdog ping is a task on the daemon's event loop, not a thread: a loop that is stuck
(a blocking call, a busy callback) stops pinging, and systemd kills and restarts the
service after WatchdogSec. A thread would keep pinging for a daemon that does nothing.

Outside systemd ($NOTIFY_SOCKET unset) every call does nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import AsyncIterator, Mapping

from common.tasks import cancel_and_wait

log = logging.getLogger(__name__)


def watchdog_interval(environ: Mapping[str, str]) -> float | None:
    """The watchdog timeout systemd set for this process (seconds), or None.

    $WATCHDOG_PID, when set, names the process meant to ping: a child that inherited the
    environment must not (sd_watchdog_enabled(3))."""
    usec = environ.get("WATCHDOG_USEC", "")
    pid = environ.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0 or (pid and pid != str(os.getpid())):
        return None
    return int(usec) / 1_000_000


class Notifier:
    """Sends notifications to the service manager; a no-op without one."""

    def __init__(self, address: str | None, *, watchdog_s: float | None = None) -> None:
        """`address`: $NOTIFY_SOCKET's value or None; `watchdog_s`: systemd's timeout."""
        self.watchdog_s = watchdog_s if address else None
        self._address = "\0" + address[1:] if address and address.startswith("@") else address
        self._socket: socket.socket | None = None
        self._stopping = False
        if self._address is not None:
            self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            # A full queue on systemd's side drops a notification instead of blocking the
            # loop: the next ping comes half a timeout later.
            self._socket.setblocking(False)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Notifier:
        env = os.environ if environ is None else environ
        return cls(env.get("NOTIFY_SOCKET") or None, watchdog_s=watchdog_interval(env))

    def send(self, *fields: str) -> None:
        if self._socket is None or self._address is None:
            return
        try:
            self._socket.sendto("\n".join(fields).encode(), self._address)
        except OSError as exc:  # systemd gone or busy: the service goes on regardless
            log.warning("systemd notification %s not sent: %s", fields[0], exc)

    def ready(self, status: str) -> None:
        """Started: systemd's `start` returns, units ordered after vipctl start."""
        self.send("READY=1", f"STATUS={status}")

    def status(self, status: str) -> None:
        """A line `systemctl status vipctl` shows."""
        self.send(f"STATUS={status}")

    def stopping(self) -> None:
        """Shutting down (once; later calls do nothing)."""
        if not self._stopping:
            self._stopping = True
            self.send("STOPPING=1", "STATUS=stopping")

    async def ping_watchdog(self) -> None:
        """Ping at half the timeout, from this loop, until cancelled (sd_watchdog_enabled(3)
        recommends half)."""
        if self.watchdog_s is None:
            return
        while True:
            self.send("WATCHDOG=1")
            await asyncio.sleep(self.watchdog_s / 2)

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None


@contextlib.asynccontextmanager
async def notifying(environ: Mapping[str, str] | None = None) -> AsyncIterator[Notifier]:
    """A Notifier from the environment, its watchdog pinging while the block runs; STOPPING=1
    at the end if the block did not say it (a failed start stops too)."""
    notifier = Notifier.from_environment(environ)
    pinger = asyncio.get_running_loop().create_task(notifier.ping_watchdog(),
                                                     name="systemd-watchdog")
    try:
        yield notifier
    finally:
        notifier.stopping()
        await cancel_and_wait(pinger)
        notifier.close()
