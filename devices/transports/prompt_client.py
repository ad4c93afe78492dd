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
import struct
from collections.abc import Callable
from typing import Any, Literal

import aiomqtt
import paho.mqtt.client as mqtt
from paho.mqtt import _packet
from paho.mqtt.enums import MQTTErrorCode

log = logging.getLogger(__name__)

# Read from the socket at once (bytes), and packets handled before the loop turns.
RECV_BYTES = 65536
READ_PACKETS_PER_TURN = 1000
_MID = struct.Struct("!H")
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
    it now; the packets that follow it in the same loop turn go together at the end of
    the turn, in one send; only what the socket does not take is left to the writer
    callback.
    """

    def __init__(self, *args: Any, deliver: Deliver | None = None, **kwargs: Any) -> None:
        # No cap on QoS 1 messages in flight (MQTT 3.1.1 has none; paho's default is 20,
        # and each acknowledgement then rescans its whole outgoing queue).
        kwargs.setdefault("max_inflight_messages", 0)
        super().__init__(*args, **kwargs)
        self._deliver = deliver
        self._acks: dict[int, asyncio.Future[None]] = {}
        self._burst = False  # a packet was written in this loop turn (see below)
        paho = self._client
        self._paho_packet_write = paho._packet_write  # noqa: SLF001
        paho._packet_write = self._packet_write  # type: ignore[method-assign]  # noqa: SLF001
        self._rbuf, self._rpos, self._drained = b"", 0, False
        # paho's own methods (pinned in pyproject.toml), replaced on this one paho client.
        self._paho_sock_recv = paho._sock_recv  # noqa: SLF001
        paho._sock_recv = self._sock_recv  # type: ignore[method-assign]  # noqa: SLF001
        self._paho_handle_publish = paho._handle_publish  # noqa: SLF001
        self._paho_handle_pubackcomp = paho._handle_pubackcomp  # noqa: SLF001
        paho._handle_pubackcomp = self._handle_pubackcomp  # type: ignore[method-assign]  # noqa: SLF001
        if deliver is not None:
            paho._handle_publish = self._handle_publish  # type: ignore[method-assign]  # noqa: SLF001

    # --- incoming ------------------------------------------------------------------------

    def _on_socket_open(self, client: Any, userdata: Any, sock: Any) -> None:
        super()._on_socket_open(client, userdata, sock)
        self._rbuf, self._rpos, self._drained = b"", 0, False
        # Called from paho's connecting thread, like aiomqtt's: after aiomqtt's own reader
        # is added, in the same order, this one takes its place.
        self._loop.call_soon_threadsafe(self._loop.add_reader, sock.fileno(), self._read_ready)

    def _read_ready(self) -> None:
        """The socket is readable: every packet there now, not one per loop turn.

        paho's loop_read reads as many packets as there are messages in flight (at least
        one), whatever it is asked: one message per wake-up of the loop, three recv calls
        each (a byte of header, the length, the rest). Here the socket is read in large
        pieces (`_sock_recv`) and loop_read called until they are used up."""
        client = self._client
        try:
            for _ in range(READ_PACKETS_PER_TURN):
                self._drained = False
                if client.loop_read() != mqtt.MQTT_ERR_SUCCESS:
                    return  # paho has seen the link lost (and said so)
                if self._drained and self._rpos >= len(self._rbuf):
                    pending = getattr(client._sock, "pending", None)  # noqa: SLF001 - TLS
                    if pending is None or not pending():
                        return
            # More than a turn's share: the rest in the next turn (the buffer does not
            # wake the loop as the socket would).
            self._loop.call_soon(self._read_ready)
        except Exception as exc:  # noqa: BLE001 - as aiomqtt's reader: a broken link
            if not self._disconnected.done():
                self._disconnected.set_exception(exc)

    def _sock_recv(self, bufsize: int) -> bytes:
        """paho's recv, from a buffer filled a large piece at a time."""
        buf, pos = self._rbuf, self._rpos
        if pos >= len(buf):
            try:
                buf = self._paho_sock_recv(RECV_BYTES)
            except BlockingIOError:
                self._drained = True
                raise
            if not buf:  # closed by the broker: paho's to see
                return buf
            pos = 0
            self._rbuf = buf
        data = buf[pos : pos + bufsize]
        self._rpos = pos + len(data)
        return data

    def _handle_publish(self) -> MQTTErrorCode:
        """paho's, without what vipctl does not use (a message object with a lock in it,
        a debug line, a per-topic callback table): the message goes to `deliver` now."""
        client = self._client
        deliver = self._deliver
        packet = client._in_packet  # noqa: SLF001
        result = _packet.decode_publish(packet["command"], packet["packet"],
                                        client._protocol)  # noqa: SLF001
        if deliver is None or result.qos == 2:  # pragma: no cover - vipctl subscribes QoS 1
            return self._paho_handle_publish()
        try:
            topic = result.topic.decode()
        except UnicodeDecodeError:
            log.warning("ignored a message whose topic is not UTF-8: %r", result.topic)
        else:
            payload = result.payload
            # Held as paho holds it around a callback: a publish made meanwhile is left to
            # the writer callback (see _on_socket_register_write).
            with client._in_callback_mutex:  # noqa: SLF001
                try:
                    deliver(topic, payload if isinstance(payload, bytes) else bytes(payload),
                            result.retain)
                except Exception:  # raised into paho, it would end the connection
                    log.exception("MQTT: delivering a message on %s failed", topic)
        if result.qos == 1 and not client._manual_ack:  # noqa: SLF001
            return client._send_puback(result.mid)  # noqa: SLF001
        return mqtt.MQTT_ERR_SUCCESS

    # --- outgoing ------------------------------------------------------------------------

    def publish_nowait(self, topic: str, payload: bytes | str, *, qos: int,
                       retain: bool) -> None:
        """Publish, not waiting for the broker (replies whose loss the asker notices)."""
        info = self._client.publish(topic, payload, qos, retain)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            raise aiomqtt.MqttCodeError(info.rc, "Could not publish message")

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

    def _handle_pubackcomp(self, cmd: Literal["PUBACK", "PUBCOMP"]) -> MQTTErrorCode:
        """paho's, for the PUBACK of MQTT 3.1.1 with no cap in flight (this client's): the
        message id is all there is to read, not a reason code and properties objects."""
        client = self._client
        packet = client._in_packet["packet"]  # noqa: SLF001
        if (cmd != "PUBACK" or len(packet) != 2 or client._protocol == mqtt.MQTTv5  # noqa: SLF001
                or client._max_inflight_messages):  # noqa: SLF001
            return self._paho_handle_pubackcomp(cmd)
        (mid,) = _MID.unpack(packet)
        with client._out_message_mutex:  # noqa: SLF001
            message = client._out_messages.pop(mid, None)  # noqa: SLF001
            if message is None:  # acknowledged before: said once
                return mqtt.MQTT_ERR_SUCCESS
            client._inflight_messages -= 1  # noqa: SLF001
        with client._in_callback_mutex:  # noqa: SLF001
            self._on_publish(client, None, mid, None, None)
        message.info._set_as_published()  # noqa: SLF001
        return mqtt.MQTT_ERR_SUCCESS

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
            if self._burst:
                # Another packet in the loop turn that wrote one: with the rest of the
                # burst (a group's commands, the acknowledgements of what was just read),
                # in one send at the end of the turn. paho asks no more until then.
                return
            client.loop_write()  # its end unregisters the writer (all sent) or keeps it asked
            if not client.want_write():
                self._burst = True
                self._loop.call_soon(self._end_burst)
                return
        super()._on_socket_register_write(client, userdata, sock)

    def _end_burst(self) -> None:
        self._burst = False
        client = self._client
        if not client.want_write():
            return
        try:
            client.loop_write()
        except Exception as exc:  # noqa: BLE001 - as aiomqtt's writer callback: a broken link
            if not self._disconnected.done():
                self._disconnected.set_exception(exc)
            return
        if client.want_write():  # what the socket did not take: when it can
            super()._on_socket_register_write(client, None, client.socket())

    def _packet_write(self) -> MQTTErrorCode:
        """paho's, but the packets waiting go out in one send, not one send each.

        Left to paho when one needs paho's handling after it is written (a QoS 0 publish
        is reported published, a DISCONNECT closes the socket)."""
        client = self._client
        packets = client._out_packet  # noqa: SLF001
        if len(packets) < 2 or any(_needs_paho(p) for p in packets):
            return self._paho_packet_write()
        while packets:
            data = b"".join(p["packet"][p["pos"] :] for p in packets)
            try:
                sent = client._sock_send(data)  # noqa: SLF001
            except (AttributeError, ValueError):  # no socket (paho's own answer)
                return mqtt.MQTT_ERR_SUCCESS
            except BlockingIOError:  # _sock_send asked for the writer callback
                return mqtt.MQTT_ERR_AGAIN
            except OSError as err:
                log.warning("MQTT: sending failed: %s", err)
                return mqtt.MQTT_ERR_CONN_LOST
            if sent <= 0:
                break
            while sent and packets:
                packet = packets[0]
                taken = min(sent, packet["to_process"])
                packet["pos"] += taken
                packet["to_process"] -= taken
                sent -= taken
                if not packet["to_process"]:
                    packets.popleft()
        with client._msgtime_mutex:  # noqa: SLF001
            client._last_msg_out = mqtt.time_func()  # noqa: SLF001
        return mqtt.MQTT_ERR_SUCCESS

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


def _needs_paho(packet: Any) -> bool:
    kind = packet["command"] & 0xF0
    return bool(kind == mqtt.DISCONNECT or (kind == mqtt.PUBLISH and packet["qos"] == 0))
