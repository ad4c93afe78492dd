"""`vipctl simulate`: the demo site's devices answer on the wire as their vendors document."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
from pathlib import Path

import aiomqtt
import pytest

from tests.broker import Mosquitto
from tests.cli.helpers import REPO, group_gone, kill_group, start

DEMO = REPO / "config" / "demo.yaml"


async def wait_ready(proc: subprocess.Popen[str], timeout: float = 15) -> str:
    """Read stdout up to the closing line of the device table (printed once all are up)."""
    assert proc.stdout is not None
    seen: list[str] = []
    async with asyncio.timeout(timeout):
        while True:
            line = await asyncio.to_thread(proc.stdout.readline)
            if not line:
                raise AssertionError(f"vipctl simulate exited early: {''.join(seen)}")
            seen.append(line)
            if line.startswith("Ctrl-C stops"):
                return "".join(seen)


@pytest.mark.parametrize("stop_with", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
async def test_simulated_tasmota_light_answers_mosquitto_pub(
    mosquitto: Mosquitto, topic_prefix: str, stop_with: signal.Signals
) -> None:
    proc = start("simulate", "--config", str(DEMO), "--mqtt", mosquitto.url,
                 "--prefix", topic_prefix)
    try:
        table = await wait_ready(proc)
        # The table says what to try, with this broker and prefix in it.
        assert (f"mosquitto_pub -h 127.0.0.1 -p {mosquitto.port} -t "
                f"{topic_prefix}/cmnd/model_area/POWER -m ON") in table
        assert "concierge_button" in table

        async with aiomqtt.Client(mosquitto.host, mosquitto.port) as client:
            await client.subscribe(f"{topic_prefix}/stat/model_area/#", qos=1)
            # Tasmota docs (MQTT > Examples): cmnd/<topic>/POWER ON answers
            # stat/<topic>/RESULT {"POWER":"ON"} and stat/<topic>/POWER ON.
            await asyncio.to_thread(subprocess.run, [
                "mosquitto_pub", "-h", mosquitto.host, "-p", str(mosquitto.port), "-q", "1",
                "-t", f"{topic_prefix}/cmnd/model_area/POWER", "-m", "ON"], check=True)
            got: dict[str, str] = {}
            async with asyncio.timeout(5):
                async for message in client.messages:
                    got[str(message.topic)] = bytes(message.payload).decode()  # type: ignore[arg-type]
                    if len(got) == 2:
                        break
        assert json.loads(got[f"{topic_prefix}/stat/model_area/RESULT"]) == {"POWER": "ON"}
        assert got[f"{topic_prefix}/stat/model_area/POWER"] == "ON"

        proc.send_signal(stop_with)
        code = await asyncio.to_thread(proc.wait, 10)
        assert code == 0, proc.stderr.read() if proc.stderr else ""
    finally:
        kill_group(proc)
    assert group_gone(proc)


def test_simulate_refuses_a_broken_site_file(tmp_path: Path) -> None:
    path = tmp_path / "site.yaml"
    path.write_text(DEMO.read_text(encoding="utf-8").replace("kind: light", "kind: lamp", 1),
                    encoding="utf-8")
    line = next(i for i, row in enumerate(path.read_text().splitlines(), 1) if "lamp" in row)
    proc = start("simulate", "--config", str(path))
    try:
        out, err = proc.communicate(timeout=30)
    finally:
        kill_group(proc)
    assert proc.returncode == 2
    assert out == ""
    assert err.startswith(f"{path}:{line}: devices.model_area_lights.kind: "), err
