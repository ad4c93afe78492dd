"""What the bench ran on and how busy the machine was: the numbers mean nothing without it."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path
from typing import Any

from tests.broker import MOSQUITTO

ROOT = Path(__file__).resolve().parents[1]


def _first(path: str, key: str) -> str:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(key):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "?"


def _run(*argv: str) -> str:
    """The first line a command prints, or "?" (no such command, not a git checkout)."""
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=5, cwd=ROOT)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    # mosquitto -h prints its version and exits with 3; git fails outside a checkout.
    lines = (out.stdout or out.stderr).strip().splitlines()
    return lines[0] if lines and not lines[0].startswith("fatal:") else "?"


def describe() -> dict[str, Any]:
    mem_kb = _first("/proc/meminfo", "MemTotal").split()[0]
    return {
        "cpu": _first("/proc/cpuinfo", "model name"),
        "cores": os.cpu_count(),
        "memory_gb": round(int(mem_kb) / 1024 / 1024, 1) if mem_kb.isdigit() else None,
        "kernel": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "mosquitto": _run(MOSQUITTO, "-h").removeprefix("mosquitto version "),
        "commit": _run("git", "describe", "--always", "--dirty"),
    }


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def summary(info: dict[str, Any]) -> str:
    return (f"{info['cpu']}, {info['cores']} cores, {info['memory_gb']} GB; {info['kernel']}; "
            f"Python {info['python']}; Mosquitto {info['mosquitto']}; vipctl {info['commit']}")
