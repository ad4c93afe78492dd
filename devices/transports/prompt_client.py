"""aiomqtt's client, driven from the event loop's own reader and writer callbacks without
the hops aiomqtt adds on top: what Home Assistant's MQTT client does with paho directly.

aiomqtt already runs paho in the loop thread (its socket reader and writer are loop
callbacks); what costs is around that. An incoming message went into an asyncio.Queue and
came out in a task of its own per message (MessagesIterator), after paho had looked each
one up in an empty per-topic callback table; an outgoing QoS 1 publish scanned every other
pending call twice (a group of 200 lights: 80,000 steps) and waited in asyncio.wait_for on
an Event; and paho let only 20 QoS 1 messages in flight, the rest of a group command
waiting for the broker's acknowledgements in waves (bench/, "Performance").
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import aiomqtt
import paho.mqtt.client as mqtt

log = logging.getLogger(__name__)

# (topic, payload, retained) of every incoming message, called in the loop thread in the
# order paho read them off the socket.
Deliver = Callable[[str, bytes, bool], None]


class PromptClient(aiomqtt.Client):
    """aiomqtt's client; with `deliver`, incoming messages are handed to it as paho reads
    them (the `messages` iterator then only ends at a disconnection), and `publish_acked`
    is the cheap publish.

    A publish made in the event loop also goes on the wire at once: aiomqtt hands every
    outgoing packet to the loop as a writer callback, through call_soon_threadsafe, and the
    announcement for a button press waited two loop turns and a wake-up of the loop's
    self-pipe before it was written. Here, on the loop's own thread and outside paho's
    callbacks (the same condition paho itself uses without an outside loop), paho writes
    it now; only what the socket does not take at once is left to the writer callback.
    """

    def __init__(self, *args: Any, deliver: Deliver | None = None, **kwargs: Any) -> None:
        # No cap on QoS 1 messages in flight (MQTT 3.1.1 has none; paho's default is 20,
        # and each acknowledgement then rescans its whole outgoing queue).
        kwargs.setdefault("max_inflight_messages", 0)
        super().__init__(*args, **kwargs)
        self._deliver = deliver
        self._acks: dict[int, asyncio.Future[None]] = {}
        if deliver is not None:
            # paho's, pinned in pyproject.toml: its own dispatch looks every message up in a
            # per-topic callback table this client never fills.
            self._client._handle_on_message = self._handle_on_message  # type: ignore[method-assign]  # noqa: SLF001

    # --- incoming ------------------------------------------------------------------------

    def _handle_on_message(self, message: mqtt.MQTTMessage) -> None:
        deliver = self._deliver
        if deliver is None:  # pragma: no cover - installed only with one
            return
        try:
            topic = message.topic
        except UnicodeDecodeError:
            log.warning("ignored a message whose topic is not UTF-8: %r", message._topic)  # noqa: SLF001
            return
        # Held as paho holds it around a callback: a publish made meanwhile is left to the
        # writer callback (see _on_socket_register_write).
        payload = message.payload
        with self._client._in_callback_mutex:  # noqa: SLF001
            try:
                deliver(topic, payload if isinstance(payload, bytes) else bytes(payload),
                        bool(message.retain))
            except Exception:  # raised into paho, it would end the connection
                log.exception("MQTT: delivering a message on %s failed", topic)

    # --- outgoing ------------------------------------------------------------------------

    async def publish_acked(self, topic: str, payload: bytes | str, *, qos: int,
                            retain: bool, timeout: float) -> None:
        """Publish; return once paho says it is done (QoS 0: written; QoS 1: acknowledged
        by the broker). Raises aiomqtt.MqttError as aiomqtt's publish does, and at once
        for a publish still unacknowledged when the link is lost."""
        info = self._client.publish(topic, payload, qos, retain)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            raise aiomqtt.MqttCodeError(info.rc, "Could not publish message")
        if info.is_published():  # a QoS 0 message the socket took at once
            return
        future = self._loop.create_future()
        self._acks[info.mid] = future
        try:
            async with asyncio.timeout(timeout):
                await future
        except TimeoutError:
            raise aiomqtt.MqttError("Operation timed out") from None
        finally:
            self._acks.pop(info.mid, None)

    def _on_publish(self, client: Any, userdata: Any, mid: int, reason_code: Any,
                    properties: Any) -> None:
        future = self._acks.pop(mid, None)
        if future is None:
            super()._on_publish(client, userdata, mid, reason_code, properties)
        elif not future.done():
            future.set_result(None)

    def _on_socket_register_write(self, client: Any, userdata: Any, sock: Any) -> None:
        try:
            on_loop = asyncio.get_running_loop() is self._loop
        except RuntimeError:  # paho's connecting thread
            on_loop = False
        lock = client._in_callback_mutex  # noqa: SLF001 - paho's; pinned in pyproject.toml
        if on_loop and lock.acquire(False):
            lock.release()
            client.loop_write()  # its end unregisters the writer (all sent) or keeps it asked
            if not client.want_write():
                return
        super()._on_socket_register_write(client, userdata, sock)

    # --- the link --------------------------------------------------------------------------

    def _on_disconnect(self, client: Any, userdata: Any, flags: Any, reason_code: Any,
                       properties: Any = None) -> None:
        """A link lost before the broker's CONNACK fails the connect now; one lost after it
        fails the publishes still waiting for their acknowledgement now.

        aiomqtt ignores a disconnection before the CONNACK, so the connect waited out its
        whole timeout (10 s) for an answer that could no longer come: the daemon stayed off
        the broker for 10 s after a broker restart behind a proxy or load balancer
        (accepted, then closed), or after a half-open link (paho gives up at the
        keepalive), and the held devices with it (the chaos campaign, README
        "Reliability"). Nor would an acknowledgement come on a new connection (a new paho
        client), so a publish in flight hears of the loss at once and may be retried.
        """
        if not self._connected.done():
            self._connected.set_exception(
                aiomqtt.MqttCodeError(reason_code, "Disconnected before the CONNACK"))
            return
        acks, self._acks = self._acks, {}
        for future in acks.values():
            if not future.done():
                future.set_exception(aiomqtt.MqttCodeError(reason_code, "Disconnected"))
        super()._on_disconnect(client, userdata, flags, reason_code, properties)
