"""`vipctl`, with a way for a test to block its event loop from outside.

SIGUSR1 runs `block` on the main thread, which is the event loop's thread: for BLOCK_S
seconds no callback, no task and no watchdog ping runs, as if a cue had made a blocking
call. The handler marks the start and the end on $NOTIFY_SOCKET itself, so the test reads
the pings and the block in the one order they happened. vipctl itself has no such hook.
"""

from __future__ import annotations

import os
import signal
import socket
import time
from types import FrameType

from controller.cli.main import main

BLOCK_S = float(os.environ.get("VIPCTL_TEST_BLOCK_S", "1.0"))


def _mark(text: str) -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.sendto(text.encode(), os.environ["NOTIFY_SOCKET"])


def block(signum: int, frame: FrameType | None) -> None:
    _mark("X-TEST=blocked")
    time.sleep(BLOCK_S)  # the fault itself: a loop that does not come back for BLOCK_S
    _mark("X-TEST=unblocked")


if __name__ == "__main__":
    signal.signal(signal.SIGUSR1, block)
    main()
