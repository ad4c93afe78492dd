"""The device layer's exceptions, rooted in DeviceError (as python-kasa's exceptions.py).

The facts are attributes: the device id, the topic, the attribute or capability asked for.
Transports and local players add their own below DeviceError, beside the code that raises
them (TransportUnavailable, PttUnavailable, PlayerError…).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from common.errors import VipctlError


class DeviceError(VipctlError):
    """Root of the device layer's exceptions."""


# The longest reason a DecodeError keeps: reasons quote the bad value, and a device (or
# anyone on the broker) can send a megabyte of it; the log gets one readable line.
MAX_REASON = 300


class DecodeError(DeviceError):
    """A device sent something that does not follow its convention."""

    def __init__(self, topic: str, reason: str, payload: bytes = b"") -> None:
        if len(reason) > MAX_REASON:
            reason = f"{reason[:MAX_REASON]}… ({len(reason):,} characters)"
        super().__init__(f"{topic}: {reason}")
        self.topic = topic
        self.reason = reason
        self.payload = payload


class UnsupportedCommand(DeviceError):
    """A command names an attribute this device or convention cannot set."""

    def __init__(self, device_id: str, attribute: str, reason: str = "") -> None:
        detail = f": {reason}" if reason else ""
        super().__init__(f"{device_id}: cannot set {attribute!r}{detail}")
        self.device_id = device_id
        self.attribute = attribute


class UnknownTarget(DeviceError):
    """A name that is neither a device id nor a group of this site."""

    def __init__(self, target: str, known: Iterable[str] = ()) -> None:
        close = difflib.get_close_matches(target, [str(k) for k in known], n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        super().__init__(f"{target!r} is not a device or group of this site{hint}")
        self.target = target


class NotCapable(DeviceError):
    """A device asked for a capability it does not have (a light asked to speak)."""

    def __init__(self, device_id: str, kind: str, capability: str) -> None:
        super().__init__(f"{device_id} is a {kind}: it is not {capability}")
        self.device_id = device_id
        self.kind = kind
        self.capability = capability
