"""State reports from many devices at a steady total rate, as the devices themselves send.

    python -m bench.flood HOST PORT DEVICES RATE SECONDS CLIENTS OUT

A few paho clients share the devices (device i on client i % CLIENTS) and publish at QoS 0,
as Tasmota and Zigbee2MQTT do by default, round-robin over the devices in 10 ms ticks. Each
report changes the light's brightness, so that the last one is recognisable. Prints
"ready" when connected (then waits for a line on stdin to begin) and "done N" at the end;
writes the last payload of every device, with its topic, as JSON to OUT.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from bench.sitegen import light
from bench.wire import BenchClient

TICK_S = 0.01  # publish in bursts this far apart


def report(i: int, n: int) -> tuple[str, bytes]:
    """Light i's n-th state report: its topic and payload, in its own convention."""
    device_id, spec = light(i)
    on = n % 3 != 0
    level = (n * 7 + i) % 100 + 1
    if spec["mqtt"]["convention"] == "tasmota":
        body = {"POWER": "ON" if on else "OFF", "Dimmer": level}
        return f"stat/{device_id}/RESULT", json.dumps(body).encode()
    body2 = {"state": "ON" if on else "OFF", "brightness": round(level * 254 / 100),
             "linkquality": 120}
    return f"zigbee2mqtt/{device_id}", json.dumps(body2).encode()


def main(host: str, port: str, devices: str, rate: str, seconds: str, clients: str,
         out: str) -> None:
    n_devices, n_clients = int(devices), int(clients)
    pubs = [BenchClient(host, int(port), f"flood{c}") for c in range(n_clients)]
    print("ready", flush=True)
    sys.stdin.readline()
    total = int(float(rate) * float(seconds))
    per_tick = float(rate) * TICK_S
    last: dict[int, tuple[str, bytes]] = {}
    sent = 0
    t0 = time.perf_counter()
    tick = 0
    while sent < total:
        tick += 1
        target = min(total, int(tick * per_tick))
        while sent < target:
            i = sent % n_devices
            topic, payload = report(i, sent // n_devices)
            pubs[i % n_clients].publish(topic, payload, qos=0)
            last[i] = (topic, payload)
            sent += 1
        wake = t0 + tick * TICK_S
        for pub in pubs:
            pub.pump(0)
        delay = wake - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
    for pub in pubs:  # flush what the sockets still hold
        pub.pump(0.05)
    elapsed = time.perf_counter() - t0
    Path(out).write_text(json.dumps(
        {light(i)[0]: [t, p.decode()] for i, (t, p) in last.items()}))
    print(f"done {sent} {elapsed:.3f}", flush=True)
    for pub in pubs:
        pub.close()


if __name__ == "__main__":
    main(*sys.argv[1:8])
