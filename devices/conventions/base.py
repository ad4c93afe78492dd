"""The shape every convention module fills in: pure encode/decode, no I/O.

A Codec is the controller's side of one device's convention. It turns desired state into
messages, and incoming messages into an Update. It never touches a socket, which is what
lets the unit tests feed it the vendor's documented examples verbatim, and lets the
simulators in simulators/ reuse the same module to play the device's side.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

from devices.model import Announcement, Kind, Message, State, UnsupportedCommand, Update


class ConventionOptions(BaseModel):
    """Options common to every convention's block in the site config (`mqtt:`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


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

    def announce(self, announcement: Announcement) -> list[Message]:
        """Messages that make an intercom say something. Only intercom conventions override."""
        raise UnsupportedCommand(self.device_id, "announce", f"{self.convention} has no intercom")


def check_topic_part(value: str) -> str:
    """A topic or name that will be put inside a topic: no wildcards, no empty levels."""
    if not value or any(c in value for c in "+#\x00") or value != value.strip():
        raise ValueError(f"{value!r} is not a usable MQTT topic part (no +, #, NUL, edge spaces)")
    if value.startswith("/") or value.endswith("/") or "//" in value:
        raise ValueError(f"{value!r} has an empty topic level")
    return value
