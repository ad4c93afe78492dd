"""Running `vipctl` as the user does: the installed console script, in its own session."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# The console script installed next to the interpreter running the tests.
VIPCTL = Path(sys.executable).parent / "vipctl"
# Wide enough that rich never folds a line the tests read.
ENV = {**os.environ, "COLUMNS": "220", "PYTHONUNBUFFERED": "1"}


def start(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """`vipctl ARGS` in a new session (its own process group), output captured."""
    return subprocess.Popen([str(VIPCTL), *args], env={**ENV, **(env or {})},
                            stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def group_gone(proc: subprocess.Popen[str], timeout: float = 5.0) -> bool:
    """True once no process is left in the group `proc` led (children included)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def kill_group(proc: subprocess.Popen[str]) -> None:
    """Clean-up after a failed test: nothing of it may outlive the test."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
