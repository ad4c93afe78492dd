"""Home Assistant's own Python (.ha-venv, made by scripts/ha-venv) for the tests here, and a
Home Assistant's side of the wire on the test's broker."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.broker import Mosquitto
from tests.link.listener import Listener, listening

ROOT = Path(__file__).resolve().parents[2]
HA_PYTHON = ROOT / ".ha-venv" / "bin" / "python"
SKIP = os.environ.get("VIPCTL_SKIP_HA") == "1"


@pytest.fixture(scope="session")
def ha_python() -> Path:
    """Home Assistant 2024.3's interpreter; scripts/ha-venv installs it if missing (once,
    about two minutes; scripts/test has done it before the tests)."""
    if SKIP:
        pytest.skip("VIPCTL_SKIP_HA=1: no Home Assistant")
    subprocess.run([ROOT / "scripts" / "ha-venv"], check=True)
    return HA_PYTHON


def ha_schema_check(ha_python: Path, prefix: str, configs: dict[str, Any]) -> dict[str, Any]:
    """What Home Assistant's MQTT schemas say of these configs (tests/homeassistant/
    ha_schemas.py, run by Home Assistant's Python)."""
    done = subprocess.run([ha_python, Path(__file__).with_name("ha_schemas.py")],
                          input=json.dumps({"prefix": prefix, "configs": configs}),
                          capture_output=True, text=True, check=True, timeout=60)
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def ha_site_extra(prefix: str, discovery: bool = True) -> str:
    """The site file's homeassistant section, for site_rig's `extra`."""
    return f"homeassistant:\n  discovery: {str(discovery).lower()}\n  prefix: {prefix}\n"


@asynccontextmanager
async def discovery_listener(broker: Mosquitto, prefix: str) -> AsyncIterator[Listener]:
    """What a Home Assistant with this discovery prefix receives of it."""
    async with listening(broker.host, broker.port, "", topic=f"{prefix}/#") as heard:
        yield heard


def configs_heard(heard: Listener) -> dict[str, bytes]:
    """The last payload heard on each config topic (b"": removed)."""
    last: dict[str, bytes] = {}
    for h in heard.heard:
        if h.topic.endswith("/config"):
            last[h.topic] = h.payload
    return last
