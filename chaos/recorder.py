"""What crossed the broker, recorded from outside the daemon: one client subscribed to `#`.

Started before everything else, with a persistent session (clean_session false) and QoS 1,
so that the broker keeps its subscription and queues for it across a restart; if the broker
lost the session (killed before it saved it), the recorder subscribes again. Its own paho
thread keeps recording while the campaign's event loop is busy. Every message goes to a
JSON-lines file as well as to memory, for the checker and for whoever reads a failed run.

`on_message` hooks let the campaign act on the wire within a millisecond (the SIGKILL that
lands inside the daemon's deferred-commit window).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

# Reconnect soon after a broker restart (paho's defaults go up to two minutes); what is
# published meanwhile waits in the persistent session.
RECONNECT_MIN_S, RECONNECT_MAX_S = 1, 2
CONNECT_TIMEOUT_S = 10.0


@dataclass(frozen=True, slots=True)
class Seen:
    at: float  # time.monotonic() on arrival
    topic: str
    payload: str
    retained: bool


Hook = Callable[[Seen], None]


class Recorder:
    def __init__(self, host: str, port: int, path: Path, *, client_id: str = "chaos-recorder",
                 ) -> None:
        self.messages: list[Seen] = []
        self.hooks: list[Hook] = []
        self.connects = 0
        self._lock = threading.Lock()
        self._file: IO[str] = path.open("a", encoding="utf-8")
        self._subscribed = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                                  clean_session=False, protocol=MQTTProtocolVersion.MQTTv311)
        self.client.reconnect_delay_set(RECONNECT_MIN_S, RECONNECT_MAX_S)
        self.client.max_inflight_messages_set(1000)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = lambda *_: self._subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect(host, port, keepalive=5)
        self.client.loop_start()
        if not self._subscribed.wait(CONNECT_TIMEOUT_S):
            raise TimeoutError("recorder: not subscribed to # in time")

    def _on_connect(self, client: mqtt.Client, userdata: object, flags: Any, rc: Any,
                    properties: object = None) -> None:
        self.connects += 1
        if not flags.session_present:  # the first time, or the broker lost the session
            client.subscribe("#", qos=1)

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        seen = Seen(time.monotonic(), msg.topic, bytes(msg.payload).decode("utf-8", "replace"),
                    bool(msg.retain))
        for hook in list(self.hooks):
            hook(seen)
        with self._lock:
            self.messages.append(seen)
            self._file.write(json.dumps({"at": seen.at, "topic": seen.topic,
                                         "payload": seen.payload, "retained": seen.retained},
                                        ensure_ascii=False) + "\n")

    def since(self, index: int) -> list[Seen]:
        with self._lock:
            return self.messages[index:]

    def count(self) -> int:
        with self._lock:
            return len(self.messages)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
        with self._lock:
            self._file.close()
