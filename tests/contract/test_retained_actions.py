"""A retained message is state, never an event: an old button action left on the broker
(Zigbee2MQTT's per-device `retain: true`, or any client's `-r`) is not a press when vipctl
(re)subscribes; the same action published live is one. Over a real mosquitto."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator

import aiomqtt
import pytest

from devices.conventions.registry import make_codec
from devices.conventions.zigbee2mqtt import Zigbee2MqttOptions
from devices.device import Device, DeviceEvent
from devices.kinds import make_device
from devices.transports.mqtt import MqttSettings, MqttTransport
from tests.broker import Mosquitto
from tests.contract.contract import Policy
from tests.waiting import eventually

BUTTON = Zigbee2MqttOptions(convention="zigbee2mqtt", name="concierge_button")
# The topics Zigbee2MQTT (2.x and 1.x) and any other client can leave a retained action on.
STATE = "zigbee2mqtt/concierge_button"
ACTION = "zigbee2mqtt/concierge_button/action"
AVAILABILITY = "zigbee2mqtt/concierge_button/availability"


@pytest.fixture
async def peer(mosquitto: Mosquitto, topic_prefix: str) -> AsyncIterator[aiomqtt.Client]:
    async with aiomqtt.Client(mosquitto.host, mosquitto.port) as client:
        yield client
        for topic in (STATE, ACTION, AVAILABILITY):  # the broker forgets what the test left
            await client.publish(f"{topic_prefix}/{topic}", b"", qos=1, retain=True)


async def started_button(
    broker: Mosquitto, prefix: str, events: list[DeviceEvent]
) -> tuple[Device, MqttTransport]:
    transport = MqttTransport(MqttSettings(
        host=broker.host, port=broker.port, client_id=f"vipctl-{prefix}", topic_prefix=prefix,
        keepalive=5,
    ))
    device = make_device("concierge_button", kind="button",
                         codec=make_codec("concierge_button", "button", BUTTON),
                         transport=transport, policy=Policy(), listener=events.append)
    device.attach()
    await transport.start()
    await transport.wait_connected()
    return device, transport


def actions(events: list[DeviceEvent]) -> list[object]:
    return [e.detail["action"] for e in events if e.kind == "action"]


async def test_a_retained_action_is_not_a_press_a_live_one_is(
    mosquitto: Mosquitto, topic_prefix: str, peer: aiomqtt.Client
) -> None:
    def at(topic: str) -> str:
        return f"{topic_prefix}/{topic}"

    # Left on the broker before vipctl starts: the 2.x state with its action, the 1.x action
    # topic, and the button's availability (retained state, which is read).
    await peer.publish(at(STATE), json.dumps({"action": "hold", "battery": 90}), qos=1,
                       retain=True)
    await peer.publish(at(ACTION), "single", qos=1, retain=True)
    await peer.publish(at(AVAILABILITY), json.dumps({"state": "online"}), qos=1, retain=True)
    events: list[DeviceEvent] = []
    device, transport = await started_button(mosquitto, topic_prefix, events)
    try:
        # The broker queued the retained messages when vipctl subscribed, before anything
        # published after it: once the live press is here, the retained ones were handled.
        await eventually(lambda: device.available is True, what="retained availability read")
        await peer.publish(at(ACTION), "double", qos=1, retain=True)  # a live press (retain
        # set by the sender, cleared by the broker for a subscriber already there)
        await eventually(lambda: actions(events), what="the live press")
        assert actions(events) == ["double"]
        await peer.publish(at(STATE), json.dumps({"action": "single"}), qos=1)
        await eventually(lambda: actions(events) == ["double", "single"])

        # A reconnect replays the retained messages again (queued before anything live):
        # still no press, and the next live one is the next action.
        sock = transport.socket()
        assert sock is not None
        connects = transport.connects
        sock.shutdown(socket.SHUT_RDWR)  # the link dies without a DISCONNECT
        await eventually(lambda: transport.connects > connects, what="reconnected")
        await peer.publish(at(STATE), json.dumps({"action": "hold"}), qos=1)
        await eventually(lambda: len(actions(events)) > 2, what="the next live press")
        assert actions(events) == ["double", "single", "hold"]
    finally:
        await transport.close()
