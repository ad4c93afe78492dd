"""The shape every convention module fills in: pure encode/decode, no I/O.

A Codec is the controller's side of one device's convention. It turns desired state into
messages, and incoming messages into an Update. It never touches a socket, which is what
lets the unit tests feed it the vendor's documented examples verbatim, and lets the
simulators in simulators/ reuse the same module to play the device's side.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import Annotated, ClassVar, Generic, NamedTuple, TypeGuard, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict

from devices.model import Announcement, Kind, Message, State, Update


class WireAddress(NamedTuple):
    """Where a device is on the wire: `field` of its options names it (for an error),
    `text` says it to people (check-config), and no two devices of a site share `key`."""

    field: str
    text: str
    key: tuple[object, ...]


class ConventionOptions(BaseModel):
    """Options common to every convention's block in the site config (`mqtt:`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @abstractmethod
    def wire_address(self) -> WireAddress:
        """Where the device is on the wire."""


OptionsT = TypeVar("OptionsT", bound=ConventionOptions)


class Codec(ABC, Generic[OptionsT]):
    """Controller side of a convention, bound to one device."""

    convention: ClassVar[str]
    kinds: ClassVar[frozenset[Kind]]  # the device kinds this convention can drive

    def __init__(self, device_id: str, kind: Kind, options: OptionsT) -> None:
        self.device_id = device_id
        self.kind = kind
        self.options = options

    @property
    def can_report(self) -> bool:
        """False for devices that cannot report their state (assumed state, never waited on)."""
        return True

    @abstractmethod
    def subscriptions(self) -> list[str]:
        """Topic filters (without prefix) carrying this device's state, availability, events."""

    @abstractmethod
    def encode(self, desired: State) -> list[Message]:
        """Messages that bring the device to `desired`. Raises UnsupportedCommand."""

    def confirmation(self, desired: State) -> State:
        """The reported state that proves `desired` took effect. Usually `desired` itself."""
        return desired

    def query(self) -> list[Message]:
        """Messages that make the device report its whole state again (none if it can't)."""
        return []

    @abstractmethod
    def decode(self, topic: str, payload: bytes) -> Update | None:
        """What a message on one of our subscriptions says; None if it is not about us.

        Raises DecodeError for payloads that break the convention.
        """



class IntercomCodec(Codec[OptionsT]):
    """A convention for intercoms: it also says how an announcement goes on the wire and
    which report proves it was played (not only received), or failed."""

    @abstractmethod
    def announce(self, announcement: Announcement) -> list[Message]:
        """Messages that make the intercom say `announcement`. Raises UnsupportedCommand."""

    @abstractmethod
    def announcement_confirmation(self, announcement: Announcement) -> State:
        """The reported state that proves `announcement` was played."""

    @abstractmethod
    def announcement_failure(self, announcement: Announcement) -> State:
        """The reported state that says `announcement` could not be played."""


def check_topic_part(value: str) -> str:
    """A topic or name that will be put inside a topic: no wildcards, no empty levels."""
    if not value or any(c in value for c in "+#\x00") or value != value.strip():
        raise ValueError(f"{value!r} is not a usable MQTT topic part (no +, #, NUL, edge spaces)")
    if value.startswith("/") or value.endswith("/") or "//" in value:
        raise ValueError(f"{value!r} has an empty topic level")
    return value


def is_finite_number(value: object) -> TypeGuard[int | float]:
    """A JSON number that is a quantity: not a bool, not NaN or ±Infinity, and within a
    float's range (math.isfinite raises OverflowError on an integer of 400 digits, which
    json.loads makes from a device's payload as readily as 42)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


# A topic, or a name put inside one (a Zigbee2MQTT friendly_name), in a configuration file.
TopicPart = Annotated[str, AfterValidator(check_topic_part)]
