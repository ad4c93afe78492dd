"""One command to a group, as the executor sends it (every member at once, over the one
connection): every member that answers is confirmed, and the one that does not is reported
failed, its neighbours untouched. The lights answer from bench.multisim, the group row's
simulators (one connection for all, as a Zigbee2MQTT bridge)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench import sitegen
from bench.procs import Child, python_module
from controller.config.site import load_site
from devices.registry import DeviceRegistry
from devices.transports.mqtt import MqttSettings, MqttTransport
from tests.broker import Mosquitto
from tests.contract.contract import Policy

LIGHTS = 40
SILENT = "light_0007"  # in the group, but no simulator answers for it


@pytest.fixture
def site_path(tmp_path: Path, mosquitto: Mosquitto, topic_prefix: str) -> Path:
    lights = dict(sitegen.light(i) for i in range(LIGHTS))
    return sitegen.write_site(
        tmp_path / "site.yaml", broker_url=mosquitto.url, database=tmp_path / "site.db",
        devices=lights, groups={"hall": list(lights)},
        extra={"mqtt": {"url": mosquitto.url, "client_id": f"vipctl-{topic_prefix}",
                        "topic_prefix": topic_prefix}})


@pytest.fixture
def lights(site_path: Path, tmp_path: Path) -> Iterator[Child]:
    answering = [sitegen.light(i)[0] for i in range(LIGHTS) if sitegen.light(i)[0] != SILENT]
    sims = python_module("sims", tmp_path / "sims.log", "bench.multisim", str(site_path),
                         ",".join(answering))
    try:
        sims.wait_for("ready")
        yield sims
    finally:
        sims.stop()


async def test_every_member_is_confirmed_and_the_silent_one_fails(
    site_path: Path, lights: Child
) -> None:
    site = load_site(site_path)
    host, port, _ = site.mqtt.connection
    transport = MqttTransport(MqttSettings(host=host, port=port,
                                           client_id=f"{site.mqtt.client_id}-group",
                                           topic_prefix=site.mqtt.topic_prefix))
    policy = Policy(confirm_timeout=0.5, retries=1, backoff=0.05, max_backoff=0.1)
    registry = DeviceRegistry.build(site.devices, site.groups, transport=transport,
                                    policy_for=lambda _: policy)
    members = registry.resolve("hall")
    async with transport:
        await transport.wait_connected()
        answered = await asyncio.gather(*(d.wait_reported(3) for d in members))
        assert [d.id for d, ok in zip(members, answered, strict=True) if not ok] == [SILENT]
        for power in (True, False, True):
            results = await asyncio.gather(*(d.command({"power": power}) for d in members))
            assert [r.device_id for r in results] == [d.id for d in members]
            failed = [r for r in results if not r.ok]
            assert [r.device_id for r in failed] == [SILENT]
            assert failed[0].attempts == 2 and "no matching report" in failed[0].reason
            assert all(d.state.get("power") is power for d in members if d.id != SILENT)
        for device in members:
            await device.close()
