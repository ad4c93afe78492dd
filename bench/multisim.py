"""Many simulated devices behind one connection: `python -m bench.multisim SITE IDS`.

A few hundred simulators each with its own aiomqtt client in one Python process take
longer to answer a burst of commands than the daemon takes to send it: the bench would
time the simulators. Here the same simulator classes (the same `handle()`, the same codecs)
answer through one connection, as one Zigbee2MQTT bridge answers for all its lights: the
daemon's own client (PromptClient), whose messages come straight from the socket's reader
and whose replies of one loop turn leave in one send. paho's own loop, one wake-up and
three reads per message, took 40-60 ms of CPU to answer 200 lights, the whole of the
group row's target. IDS (comma-separated) names the devices; prints "ready" once all are
announced.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import aiomqtt

from controller.config.site import load_site
from devices.model import prefixed, unprefixed
from devices.transports.mqtt import NODELAY, PromptClient
from simulators.base import SimulatedDevice
from simulators.site import make_simulator

# QoS of the answers: what SimulatedDevice.publish uses.
REPLY_QOS = 1


async def serve(site_path: str, only: str) -> None:
    site = load_site(Path(site_path))
    host, port, _ = site.mqtt.connection
    prefix = site.mqtt.topic_prefix
    wanted = set(only.split(","))
    sims = [make_simulator(i, spec, host=host, port=port, topic_prefix=prefix)
            for i, spec in site.devices.items() if i in wanted]
    by_filter = {topic_filter: sim for sim in sims for topic_filter in sim.command_topics()}
    routes: dict[str, SimulatedDevice | None] = {}  # topic → its simulator, found once

    def route(topic: str) -> SimulatedDevice | None:
        parsed = aiomqtt.Topic(topic)
        found = next((sim for f, sim in by_filter.items() if parsed.matches(f)), None)
        routes[topic] = found
        return found

    def answer(wire_topic: str, payload: bytes, retained: bool) -> None:
        topic = unprefixed(prefix, wire_topic)
        if topic is None:
            return
        sim = routes[topic] if topic in routes else route(topic)
        if sim is None:
            return
        for reply in sim.handle(topic, payload):
            client.publish_nowait(prefixed(prefix, reply.topic), reply.payload,
                                  qos=REPLY_QOS, retain=reply.retain)

    stop = asyncio.Event()
    client = PromptClient(host, port, identifier="bench-multisim", socket_options=[NODELAY],
                          deliver=answer)
    async with client:
        filters = [prefixed(prefix, t) for t in by_filter]
        for i in range(0, len(filters), 100):
            await client.subscribe([(f, REPLY_QOS) for f in filters[i : i + 100]])
        births = [client.publish_acked(prefixed(prefix, m.topic), m.payload, qos=REPLY_QOS,
                                       retain=m.retain, timeout=30)
                  for sim in sims for m in sim.birth()]
        await asyncio.gather(*births)
        # Until now SIGTERM ends the process as it comes; from here, with a DISCONNECT.
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        print("ready", flush=True)
        await stop.wait()


def main(site_path: str, only: str) -> None:
    asyncio.run(serve(site_path, only))


if __name__ == "__main__":
    main(*sys.argv[1:3])
