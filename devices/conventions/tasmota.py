"""Tasmota: cmnd/<topic>/<Command>, answers on stat/<topic>/RESULT and stat/<topic>/POWER."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator

from devices.conventions.base import ConventionOptions, check_topic_part


class TasmotaOptions(ConventionOptions):
    convention: Literal["tasmota"]
    topic: Annotated[str, AfterValidator(check_topic_part)]  # the device's %topic%
    relay: int | None = None  # POWER<n> on multi-relay devices; None means plain POWER
    irhvac_vendor: str | None = None  # climate behind an IR blaster: IRHVAC "Vendor"
