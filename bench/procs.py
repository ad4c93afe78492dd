"""The processes a bench run starts: `vipctl run`, the simulators, the echo, publishers.

Each is a child process of the bench, started in its own session so that nothing it starts
outlives the run. Output goes to a log file in the run's work folder; a line the bench waits
for ("ready", "vipctl running for") is watched by a reader thread with its time of arrival.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

# The console script installed next to the interpreter running the bench.
VIPCTL = Path(sys.executable).parent / "vipctl"
CLK_TCK = os.sysconf("SC_CLK_TCK")
ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}
# How long a child may take to say it is ready (imports on a loaded machine are slow).
READY_TIMEOUT_S = 60.0


class Child:
    """One child process whose output lines are watched for a marker."""

    def __init__(self, name: str, argv: Sequence[str], log: Path, *, stdin: bool = False,
                 env: Mapping[str, str] | None = None) -> None:
        self.name = name
        self.argv = list(argv)
        self.log = log
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            self.argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            env={**ENV, **(env or {})},
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL, start_new_session=True,
        )
        self._lines: list[tuple[float, str]] = []
        self._cond = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True, name=f"read:{name}")
        self._reader.start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _read(self) -> None:
        out: IO[bytes] | None = self.proc.stdout
        if out is None:
            return
        with open(self.log, "ab") as log:
            for raw in out:
                at = time.perf_counter()
                log.write(raw)
                log.flush()
                with self._cond:
                    self._lines.append((at, raw.decode("utf-8", errors="replace")))
                    self._cond.notify_all()

    def wait_for(self, marker: str, timeout: float = READY_TIMEOUT_S, *, after: int = 0,
                 ) -> float:
        """perf_counter() at which a line containing `marker` (from line `after` on) came."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for at, line in self._lines[after:]:
                    if marker in line:
                        return at
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    tail = "".join(line for _, line in self._lines[-20:])
                    state = "exited" if self.proc.poll() is not None else "is silent"
                    raise RuntimeError(f"{self.name} {state} before {marker!r}:\n{tail}")
                self._cond.wait(min(left, 0.1))

    def send_line(self, line: str = "") -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.write(line.encode() + b"\n")
            self.proc.stdin.flush()

    def lines(self) -> list[str]:
        with self._cond:
            return [line for _, line in self._lines]

    def line_count(self) -> int:
        with self._cond:
            return len(self._lines)

    def cpu_seconds(self) -> float:
        """User plus system CPU time the process has used (its threads included)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime

    def memory_mb(self) -> tuple[float, float]:
        """(resident now, peak resident) in MB, from /proc/<pid>/status."""
        values = {}
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0]) / 1024
        return values["VmRSS"], values["VmHWM"]

    def signal_usr1(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGUSR1)

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM, then SIGKILL to the whole session if it does not go. Idempotent."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._close()
        return self.proc.returncode

    def _close(self) -> None:
        """Once the reader has read the output to its end: close the pipes (left to the
        garbage collector they are a ResourceWarning in a test that runs a child)."""
        self._reader.join(timeout=2)
        if not self._reader.is_alive():
            for pipe in (self.proc.stdout, self.proc.stdin):
                if pipe is not None:
                    pipe.close()

    def kill(self) -> None:
        """SIGKILL, as a crash or a power cut would end it."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._close()


def vipctl_run(log: Path, config: Path, *, scene: Path | None = None, speed: float = 1.0,
               api_port: int = 0, log_level: str = "info",
               env: Mapping[str, str] | None = None) -> Child:
    argv = [str(VIPCTL), "run", "--config", str(config), "--speed", str(speed),
            "--api-port", str(api_port), "--log-level", log_level]
    if scene is not None:
        argv += ["--scene", str(scene)]
    return Child("vipctl run", argv, log, env=env)


def python_module(name: str, log: Path, module: str, *args: str, stdin: bool = False) -> Child:
    return Child(name, [sys.executable, "-m", module, *args], log, stdin=stdin)


# The line `vipctl run` logs at INFO once the engine has started (controller/daemon.py).
DAEMON_READY = "vipctl running for"
