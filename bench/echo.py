"""The floor: a bare paho-mqtt client that republishes every press, at the press's QoS.

    python -m bench.echo HOST PORT IN_TOPIC OUT_TOPIC

It does the least any MQTT program can do with a press (receive, publish) with TCP_NODELAY
set, in its own process as the daemon is. Prints "ready" once subscribed.
"""

from __future__ import annotations

import sys

import paho.mqtt.client as mqtt

from bench.wire import BenchClient


def main(host: str, port: str, in_topic: str, out_topic: str) -> None:
    echo = BenchClient(host, int(port), "echo")

    def on_message(client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        client.publish(out_topic, msg.payload, qos=msg.qos)

    echo.client.on_message = on_message
    echo.subscribe(in_topic, qos=1)
    print("ready", flush=True)
    echo.client.loop_forever()


if __name__ == "__main__":
    main(*sys.argv[1:5])
