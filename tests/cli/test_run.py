"""`vipctl run`: refuses bad files with file:line, runs a site, stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import re
import signal
import socket
import time
from pathlib import Path

import aiomqtt
import httpx

from controller.config.site import load_site
from simulators.site import SiteSimulators
from tests.broker import Mosquitto, free_port
from tests.cli.helpers import REPO, group_gone, kill_group, start
from tests.scenario.rig import site_file
from tests.waiting import eventually

# The demo config's client id gives the daemon's retained status topic.
STATUS_TOPIC = "vipctl/vipctl-demo/status"


def run_to_end(*args: str, timeout: float = 30) -> tuple[int, str, str]:
    proc = start(*args)
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        kill_group(proc)
    return proc.returncode, out, err


def test_bad_site_file_exits_2_with_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "site.yaml"
    text = (REPO / "config" / "demo.yaml").read_text(encoding="utf-8")
    path.write_text(text.replace("convention: zigbee2mqtt, name: hall_lights",
                                 "convention: zigbe2mqtt, name: hall_lights"), encoding="utf-8")
    line = next(i for i, row in enumerate(path.read_text().splitlines(), 1) if "zigbe2mqtt" in row)
    code, out, err = run_to_end("run", "--config", str(path))
    assert code == 2
    assert out == ""
    assert err.startswith(f"{path}:{line}: devices.hall_lights.mqtt.convention: 'zigbe2mqtt' "
                          "is not one of"), err


def test_scene_naming_an_unknown_device_exits_2(tmp_path: Path) -> None:
    scene = tmp_path / "scene.yaml"
    text = (REPO / "scenes" / "vip_reception.yaml").read_text(encoding="utf-8")
    scene.write_text(text.replace("- target: vip_room_ac", "- target: vip_room_acc"),
                     encoding="utf-8")
    line = next(i for i, row in enumerate(scene.read_text().splitlines(), 1)
                if "vip_room_acc" in row)
    code, out, err = run_to_end("run", "--config", str(REPO / "config" / "demo.yaml"),
                                "--scene", str(scene))
    assert code == 2
    assert out == ""
    assert re.match(rf"{re.escape(str(scene))}:{line}: cues\S*target: 'vip_room_acc' is not a "
                    r"device or group of this site \(did you mean 'vip_room_ac'\?\)", err), err


async def test_run_drives_the_site_and_stops_on_sigterm(
    tmp_path: Path, mosquitto: Mosquitto, topic_prefix: str
) -> None:
    config = site_file(tmp_path, mosquitto, topic_prefix)
    api_port = free_port()
    sims = SiteSimulators(load_site(config).devices, host=mosquitto.host, port=mosquitto.port,
                          topic_prefix=topic_prefix)
    async with sims:
        proc = start("run", "--config", str(config), "--api-port", str(api_port),
                     "--speed", "60")
        try:
            # P3: the daemon is up when it turns the background music on (the baseline).
            music = sims["background_music"]
            await eventually(lambda: music.state.get("playback") == "playing", timeout=15)
            assert music.state["volume"] == 30
            assert await status(mosquitto, topic_prefix) == "online"
            # The API comes up after the daemon is on the broker (READY=1 says when:
            # tests/service/test_run_notifies.py).
            reply = await answer(f"http://127.0.0.1:{api_port}/openapi.json")
            assert reply.status_code == 200

            began = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            code = await asyncio.to_thread(proc.wait, 10)
            assert code == 0, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() - began < 5
        finally:
            kill_group(proc)
    assert group_gone(proc)
    # A clean shutdown says so on its status topic (a crash would leave the last will).
    assert await status(mosquitto, topic_prefix) == "offline"
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", api_port)) != 0


async def answer(url: str, timeout: float = 15) -> httpx.Response:
    """GET `url` once its server accepts connections."""
    async with httpx.AsyncClient() as client, asyncio.timeout(timeout):
        while True:
            try:
                return await client.get(url)
            except httpx.ConnectError:
                await asyncio.sleep(0.05)


async def status(broker: Mosquitto, prefix: str) -> str:
    """The daemon's retained status, as any MQTT client sees it."""
    async with aiomqtt.Client(broker.host, broker.port) as client:
        await client.subscribe(f"{prefix}/{STATUS_TOPIC}", qos=1)
        async with asyncio.timeout(5):
            async for message in client.messages:
                return bytes(message.payload).decode()  # type: ignore[arg-type]
    raise AssertionError("no status")
