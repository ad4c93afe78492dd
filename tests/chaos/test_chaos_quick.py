"""The chaos campaign runs end to end (`python -m chaos --quick`, about 2.5 min): every
fault kind injected, every visit received, and the invariants judged with no violation."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from chaos.plan import FAULT_KINDS

ROOT = Path(__file__).resolve().parents[2]
# The campaign alone is 2 min of visits on the clock; a loaded CI machine adds to it.
pytestmark = pytest.mark.timeout(300)
RAN = (0, 3)  # what `python -m chaos` exits with: 0 no failures, 3 some (both ran through)


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("chaos") / "results.json"
    done = subprocess.run([sys.executable, "-m", "chaos", "--quick", "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=280)
    assert done.returncode in RAN, done.stderr[-3000:]
    report: dict[str, Any] = json.loads(out.read_text())
    assert report["table"] in done.stdout
    return report


def campaign(report: dict[str, Any]) -> dict[str, Any]:
    part: dict[str, Any] = next(p for p in report["parts"] if p["name"] == "campaign")
    return part


def test_every_fault_kind_is_injected(quick: dict[str, Any]) -> None:
    part = campaign(quick)
    assert part["cases"] == 10
    injected = part["faults_by_kind"]
    assert all(injected.get(k, 0) >= 1 for k in FAULT_KINDS), injected


def test_no_invariant_is_violated(quick: dict[str, Any]) -> None:
    part = campaign(quick)
    assert part["violations"] == []
