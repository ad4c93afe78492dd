"""The start-up and recovery benches time vipctl as installed: its modules compiled to
bytecode, whatever PYTHONDONTWRITEBYTECODE says (bench/startup.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from bench.startup import PACKAGES, SOURCE, compile_vipctl


def test_every_module_vipctl_runs_has_its_bytecode_after_the_bench_compiled_them() -> None:
    compile_vipctl()
    sources = [s for package in PACKAGES for s in (SOURCE / package).rglob("*.py")]
    assert len(sources) > 100
    for source in sources:
        cached = Path(importlib.util.cache_from_source(str(source)))
        assert cached.exists(), source
        assert cached.stat().st_mtime >= source.stat().st_mtime, source
