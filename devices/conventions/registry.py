"""Find the codec class for a device's convention options."""

from __future__ import annotations

import importlib
from typing import Any

from devices.conventions.base import Codec, ConventionOptions
from devices.model import Kind

# convention tag (as written in the site config) → module holding its `CODEC`
MODULES = {
    "tasmota": "devices.conventions.tasmota",
    "zigbee2mqtt": "devices.conventions.zigbee2mqtt",
    "vipctl-media": "devices.conventions.vipctl_media",
    "vipctl-intercom": "devices.conventions.vipctl_intercom",
    "coolmaster": "devices.conventions.coolmaster",
    "intesis-modbus": "devices.conventions.modbus_intesis",
    "dmx": "devices.conventions.dmx",
}


def codec_class(convention: str) -> type[Codec[Any]]:
    module = importlib.import_module(MODULES[convention])
    codec = module.CODEC
    if not isinstance(codec, type) or not issubclass(codec, Codec):
        raise TypeError(f"{MODULES[convention]}.CODEC is not a Codec class")
    return codec


def make_codec(device_id: str, kind: Kind, options: ConventionOptions) -> Codec[Any]:
    convention = str(getattr(options, "convention"))  # noqa: B009 - every binding has one
    return codec_class(convention)(device_id, kind, options)
