"""Presses at a steady rate, each paired with its answer on the broker: the trigger rows'
clock, for vipctl, the paho floor and the peers (bench.peers) alike.

Every press is numbered; its answer names the number (the echo repeats it, Node-RED's flow
puts it in the announcement's id, vipctl's announcement id names the visit and the cue the
press was for). A press is timed from the bench's own publish to the bench's own receipt of
its answer, in one thread (bench.wire).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable

from bench import sitegen
from bench.visits import visit_id
from bench.wire import BenchClient

# Press 3k is visit k's arrival, 3k+1 its show flat, 3k+2 its departure: the button's
# actions, and the cues each one announces.
ACTIONS = ("single", "double", "hold")
CUES = ("f1-arrival", "f7-show-flat", "f13-departure")
# After the last press, answers count as lost once none has come for DRAIN_S, or at the
# latest DRAIN_MAX_S after it.
DRAIN_S = 3.0
DRAIN_MAX_S = 120.0
# The floor: a bare paho client (bench.echo) republishes each press from one topic to another.
ECHO_IN, ECHO_OUT = "bench/press", "bench/echo"

# Which press an answer on a topic is for (None: not one of this run's).
Pairing = Callable[[bytes], int | None]
# press number → milliseconds from its publish to its answer; unanswered presses are absent.
Latencies = dict[int, float]


def press_run(client: BenchClient, n: int, rate: float, publish: Callable[[int], None],
              received: dict[int, float], *, drain: float | None = None) -> Latencies:
    """Publish n presses at `rate`; latencies (ms) of those answered while answers still
    come (none for `drain` seconds, default DRAIN_S, ends the wait)."""
    sent: list[float] = [math.nan] * n
    period = 1.0 / rate
    t0 = time.perf_counter() + 0.05
    for i in range(n):
        due = t0 + i * period
        while (now := time.perf_counter()) < due:
            client.pump(due - now)
        sent[i] = time.perf_counter()
        publish(i)
    # An overloaded daemon answers late, not never: wait while answers still come.
    deadline = time.perf_counter() + DRAIN_MAX_S
    while len(received) < n and time.perf_counter() < deadline:
        before = len(received)
        client.pump_until(lambda: len(received) >= n, DRAIN_S if drain is None else drain)
        if len(received) == before:
            break
    return {i: (received[i] - sent[i]) * 1000 for i in range(n) if i in received}


def paired_presses(client: BenchClient, n: int, rate: float, *,
                   publish: Callable[[int], None], answer_topic: str, pairing: Pairing,
                   drain: float | None = None) -> Latencies:
    """n presses published by `publish(i)`; answers on `answer_topic` paired by `pairing`."""
    received: dict[int, float] = {}

    def on(topic: str, payload: bytes, at: float) -> None:
        if topic == answer_topic:
            i = pairing(payload)
            if i is not None:
                received.setdefault(i, at)

    client.receivers.append(on)
    try:
        return press_run(client, n, rate, publish, received, drain=drain)
    finally:
        client.receivers.remove(on)


def floor_presses(client: BenchClient, n: int, rate: float, qos: int) -> Latencies:
    """The same presses through the paho echo (bench.echo): the floor."""
    return paired_presses(client, n, rate, answer_topic=ECHO_OUT, pairing=int,
                          publish=lambda i: client.publish(ECHO_IN, str(i), qos=qos))


def announcement_for(ids: dict[str, int]) -> Pairing:
    """Pairs a vipctl-intercom `say` with the press whose announcement id it carries."""
    return lambda payload: ids.get(str(json.loads(payload).get("id", "")))


def vipctl_presses(client: BenchClient, n: int, rate: float, qos: int, *,
                   first_visit: int = 0) -> Latencies:
    """n presses of the concierge button (a Zigbee2MQTT action) for visits first_visit,
    first_visit + 1, ... (three presses each); their announcements on the intercom."""
    ids = {f"{visit_id(first_visit + i // 3)}:{CUES[i % 3]}:announce": i for i in range(n)}

    def press(i: int) -> None:
        client.publish(sitegen.BUTTON_TOPIC, json.dumps({"action": ACTIONS[i % 3]}), qos=qos)

    return paired_presses(client, n, rate, publish=press, answer_topic=sitegen.SAY_TOPIC,
                          pairing=announcement_for(ids))
