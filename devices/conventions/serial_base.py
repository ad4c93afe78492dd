"""What a serial convention gives its port, and the topics a port speaks in.

A serial line is request and reply. A codec names each request with a topic whose first
level is the unit it is for (`L1.100/ls2`, `3/read`, `dmx/1`); the port writes the request,
reads the reply with the convention's Framing, and hands the reply back under the same
topic. Two kinds of topics come from the port itself:

    $port           b"online" / b"offline": the port opened, or disappeared (USB pulled)
    <unit>/$status  b"offline" after a unit stopped answering, b"online" when it answers again

so a codec reads availability the way MQTT codecs read a last will.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Annotated, Protocol, TypeVar

from pydantic import Field

from devices.conventions.base import Codec, ConventionOptions, WireAddress
from devices.errors import DecodeError

PORT_TOPIC = "$port"
STATUS_LEVEL = "$status"
ONLINE, OFFLINE = b"online", b"offline"

# Port names: the keys of the site file's `serial_ports:` (same rule as device ids).
PortName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]


class Framing(Protocol):
    """How one convention puts requests on the line and finds where a reply ends.

    One instance per port: a framing may keep what the whole line needs (a DMX universe).
    `reply_length` must never raise: garbage is the codec's to reject, not the port's.
    """

    def outgoing(self, topic: str, payload: bytes) -> bytes:
        """The bytes to write for one request."""

    def expects_reply(self, topic: str) -> bool:
        """False for requests nothing answers (DMX frames)."""

    def reply_length(self, buffer: bytes) -> int | None:
        """Length of a complete reply at the start of `buffer`; None until there is one."""

    def refresh(self) -> bytes | None:
        """What to write again periodically and after every reopen (None: nothing)."""


def unit_of(topic: str) -> str:
    """The unit a request topic is for: its first level."""
    return topic.split("/", 1)[0]


def status_topic(unit: str) -> str:
    return f"{unit}/{STATUS_LEVEL}"


def link_state(topic: str, payload: bytes) -> bool:
    """A `$port` or `<unit>/$status` payload as available True/False."""
    if payload == ONLINE:
        return True
    if payload == OFFLINE:
        return False
    raise DecodeError(topic, "link status is neither online nor offline", payload[:64])


def is_link_topic(topic: str) -> bool:
    return topic == PORT_TOPIC or topic.endswith("/" + STATUS_LEVEL)


class SerialOptions(ConventionOptions):
    """Options common to every serial convention's block (`serial:` in the site file)."""

    port: PortName  # a key of the site's serial_ports

    def where(self) -> str:
        """The device's place on its port, for people (check-config, the simulators)."""
        return self.port

    def wire_address(self) -> WireAddress:
        return WireAddress("port", f"serial {self.where()}", (self.where(),))


OptionsT = TypeVar("OptionsT", bound=SerialOptions)


class SerialCodec(Codec[OptionsT]):
    """A codec for a device behind a serial port."""

    @classmethod
    @abstractmethod
    def make_framing(cls) -> Framing:
        """The framing for a port whose devices use this convention."""

    @property
    @abstractmethod
    def unit(self) -> str:
        """The first level of this device's topics."""

    def subscriptions(self) -> list[str]:
        return [PORT_TOPIC, f"{self.unit}/#"]
