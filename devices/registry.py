"""All of a site's devices and groups, built from the validated configuration."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol, TypeVar

from devices.capabilities import Capability
from devices.conventions.base import ConventionOptions
from devices.conventions.registry import make_codec
from devices.device import Device, Listener, Policy
from devices.errors import NotCapable, UnknownTarget
from devices.kinds import make_device
from devices.model import Kind
from devices.transports.base import Transport

C = TypeVar("C", bound=Capability)


class DeviceSpec(Protocol):
    """The parts of a device's configuration the registry needs (devices.config.DeviceConfig)."""

    @property
    def kind(self) -> Kind: ...
    @property
    def name(self) -> str | None: ...
    @property
    def binding(self) -> ConventionOptions: ...
    @property
    def optimistic(self) -> bool: ...


class DeviceRegistry:
    def __init__(self, devices: Iterable[Device], groups: Mapping[str, Sequence[str]]) -> None:
        self.devices: dict[str, Device] = {d.id: d for d in devices}
        self.groups: dict[str, list[str]] = {name: list(ids) for name, ids in groups.items()}

    @classmethod
    def build(
        cls,
        specs: Mapping[str, DeviceSpec],
        groups: Mapping[str, Sequence[str]],
        *,
        transport: Transport,
        policy_for: Callable[[str], Policy],
        listener: Listener | None = None,
        transports: Mapping[str, Transport] | None = None,
    ) -> DeviceRegistry:
        """`transports`: device id → a transport of its own (a local player's loopback);
        every other device uses `transport`."""
        own = transports or {}
        devices = [
            make_device(
                device_id,
                kind=spec.kind,
                codec=make_codec(device_id, spec.kind, spec.binding),
                transport=own.get(device_id, transport),
                policy=policy_for(device_id),
                name=spec.name,
                optimistic=spec.optimistic,
                listener=listener,
            )
            for device_id, spec in specs.items()
        ]
        registry = cls(devices, groups)
        for device in devices:
            device.attach()
        return registry

    def __getitem__(self, device_id: str) -> Device:
        try:
            return self.devices[device_id]
        except KeyError:
            raise UnknownTarget(device_id, self.devices) from None

    def get(self, device_id: str, capability: type[C]) -> C:
        """The device as `capability` (Intercom, MediaPlayer…); NotCapable if it is not."""
        device = self[device_id]
        if not isinstance(device, capability):
            raise NotCapable(device_id, device.kind, capability.capability)
        return device

    def having(self, capability: type[C]) -> dict[str, C]:
        """Every device with `capability`, by id."""
        found: dict[str, C] = {}
        for device_id, device in self.devices.items():
            if isinstance(device, capability):
                found[device_id] = device
        return found

    def resolve(self, target: str) -> list[Device]:
        """A device id or a group name → the devices it means."""
        if target in self.devices:
            return [self.devices[target]]
        if target in self.groups:
            return [self.devices[i] for i in self.groups[target]]
        raise UnknownTarget(target, [*self.devices, *self.groups])

    def snapshot(self) -> list[dict[str, Any]]:
        return [d.snapshot() for d in self.devices.values()]
