"""Running `vipctl` as the user does: the installed console script, in its own session."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.waiting import eventually_sync

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
    """True once no process is left in the group `proc` led (children included); fails
    the test, saying so, when some are still there after `timeout`."""

    def gone() -> bool:
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            return True
        return False

    return eventually_sync(gone, timeout, what=f"the process group of {proc.args!r} to end")


def kill_group(proc: subprocess.Popen[str]) -> None:
    """Clean-up after a test: nothing of it may outlive the test, not even its pipes."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    for pipe in (proc.stdin, proc.stdout, proc.stderr):
        if pipe is not None:
            pipe.close()
