"""Many simulated devices behind one connection: `python -m bench.multisim SITE IDS`.

A few hundred simulators each with its own aiomqtt client in one Python process take
longer to answer a burst of commands than the daemon takes to send it: the bench would
time the simulators. Here the same simulator classes (the same `handle()`, the same codecs)
answer through one paho client in one thread, as one Zigbee2MQTT bridge answers for all its
lights. IDS (comma-separated) names the devices; prints "ready" once all are announced.
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt

from bench.wire import BenchClient
from controller.config.site import load_site
from devices.model import prefixed, unprefixed
from simulators.base import SimulatedDevice
from simulators.site import make_simulator

# QoS of the answers: what SimulatedDevice.publish uses.
REPLY_QOS = 1


def main(site_path: str, only: str) -> None:
    site = load_site(Path(site_path))
    host, port, _ = site.mqtt.connection
    prefix = site.mqtt.topic_prefix
    wanted = set(only.split(","))
    sims = [make_simulator(i, spec, host=host, port=port, topic_prefix=prefix)
            for i, spec in site.devices.items() if i in wanted]
    link = BenchClient(host, port, "multisim")

    def answer(sim: SimulatedDevice) -> Any:
        def on_message(client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
            topic = unprefixed(prefix, msg.topic)
            if topic is None:
                return
            for reply in sim.handle(topic, bytes(msg.payload)):
                client.publish(prefixed(prefix, reply.topic), reply.payload, qos=REPLY_QOS,
                               retain=reply.retain)
        return on_message

    filters = []
    for sim in sims:
        for topic in sim.command_topics():
            link.client.message_callback_add(prefixed(prefix, topic), answer(sim))
            filters.append(prefixed(prefix, topic))
    for i in range(0, len(filters), 100):
        link.subscribe(*filters[i : i + 100])
    for sim in sims:
        for message in sim.birth():
            link.publish(prefixed(prefix, message.topic), message.payload, qos=REPLY_QOS,
                         retain=message.retain)
    link.pump(0.1)
    print("ready", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: link.client.disconnect())
    link.client.loop_forever()


if __name__ == "__main__":
    main(*sys.argv[1:3])
