"""An intercom that reports an announcement failed is not waited on until the timeout."""

from __future__ import annotations

import time
from dataclasses import dataclass

from devices.conventions.registry import make_codec
from devices.conventions.vipctl_intercom import VipctlIntercomOptions
from devices.kinds import make_device
from devices.model import Announcement
from devices.transports.mqtt import MqttSettings, MqttTransport
from simulators.vipctl_intercom import make
from tests.broker import Mosquitto


@dataclass(frozen=True)
class Policy:
    confirm_timeout: float = 5.0
    retries: int = 1
    backoff: float = 0.05
    max_backoff: float = 0.1


async def test_a_reported_failure_ends_the_wait(mosquitto: Mosquitto, topic_prefix: str) -> None:
    options = VipctlIntercomOptions(convention="vipctl-intercom", topic="intercom/staff")
    sim = make("staff_intercom", "intercom", options, host=mosquitto.host, port=mosquitto.port,
               topic_prefix=topic_prefix)
    sim.failing = True  # type: ignore[attr-defined]
    await sim.start()
    transport = MqttTransport(MqttSettings(host=mosquitto.host, port=mosquitto.port,
                                           client_id=f"vipctl-{topic_prefix}",
                                           topic_prefix=topic_prefix))
    device = make_device("staff_intercom", kind="intercom",
                    codec=make_codec("staff_intercom", "intercom", options),
                    transport=transport, policy=Policy())
    device.attach()
    try:
        await transport.start()
        await transport.wait_connected()
        began = time.monotonic()
        result = await device.announce(Announcement("f1", "王先生已到访,请各岗位做好接待工作"))
        took = time.monotonic() - began
    finally:
        await transport.close()
        await sim.stop()
    assert not result.ok
    assert result.attempts == 2
    assert "failed" in result.reason
    # Two attempts told "failed" at once, not two waits of 5 s + 0.3 s per character.
    assert took < 5.0, took
