"""Bare paho-mqtt clients for the bench's own side of the wire: pressing, watching, echoing.

Every client sets TCP_NODELAY (paho does not; without it a QoS 1 exchange waits 20-45 ms on
Nagle's algorithm and delayed ACKs) and is driven from one thread with `loop()`, so that a
receive timestamp is taken in the same thread that published, without a lock in between.
"""

from __future__ import annotations

import itertools
import socket
import time
from collections.abc import Callable

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

# How long connecting and subscribing may take on a loaded machine (seconds).
CONNECT_TIMEOUT_S = 10.0
_ids = itertools.count()

Receiver = Callable[[str, bytes, float], None]  # topic, payload, time.perf_counter()


class BenchClient:
    """One paho client in the caller's thread: call `pump()` to let it read and write."""

    def __init__(self, host: str, port: int, name: str) -> None:
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"bench-{name}-{next(_ids)}",
            protocol=MQTTProtocolVersion.MQTTv311,
        )
        self.client.max_inflight_messages_set(1000)  # the flood must not stall on acks
        self.client.max_queued_messages_set(0)
        self.receivers: list[Receiver] = []
        self._acked: set[int] = set()
        self._connected = False
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe
        self.client.connect(host, port, keepalive=60)
        sock = self.client.socket()
        if isinstance(sock, socket.socket):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._until(lambda: self._connected, "connect")

    def _on_connect(self, client: mqtt.Client, userdata: object, flags: object, rc: object,
                    properties: object = None) -> None:
        self._connected = True

    def _on_subscribe(self, client: mqtt.Client, userdata: object, mid: int, *rest: object,
                      ) -> None:
        self._acked.add(mid)

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        at = time.perf_counter()
        for receiver in self.receivers:
            receiver(msg.topic, bytes(msg.payload), at)

    def _until(self, done: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + CONNECT_TIMEOUT_S
        while not done():
            if time.monotonic() > deadline:
                raise TimeoutError(f"bench client: no {what} within {CONNECT_TIMEOUT_S} s")
            self.client.loop(timeout=0.05)

    def subscribe(self, *filters: str, qos: int = 1) -> None:
        _, mid = self.client.subscribe([(f, qos) for f in filters])
        self._until(lambda: mid in self._acked, f"SUBACK for {filters}")

    def publish(self, topic: str, payload: bytes | str, qos: int = 0, retain: bool = False,
                ) -> None:
        self.client.publish(topic, payload, qos=qos, retain=retain)

    def pump(self, timeout: float) -> None:
        """Read and write for up to `timeout` seconds (returns early once something came)."""
        self.client.loop(timeout=max(0.0, timeout))

    def pump_until(self, done: Callable[[], bool], timeout: float) -> bool:
        deadline = time.perf_counter() + timeout
        while not done():
            left = deadline - time.perf_counter()
            if left <= 0:
                return False
            self.pump(min(left, 0.05))
        return True

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop(timeout=0.1)
