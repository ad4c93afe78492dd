"""Zigbee2MQTT: <base>/<name>/set JSON commands, state echo on <base>/<name>."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator

from devices.conventions.base import ConventionOptions, check_topic_part


class Zigbee2MqttOptions(ConventionOptions):
    convention: Literal["zigbee2mqtt"]
    name: Annotated[str, AfterValidator(check_topic_part)]  # the device's friendly_name
    base_topic: Annotated[str, AfterValidator(check_topic_part)] = "zigbee2mqtt"
