"""vipctl-intercom: vipctl's own JSON convention for intercom/PA gateways."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator

from devices.conventions.base import ConventionOptions, check_topic_part


class VipctlIntercomOptions(ConventionOptions):
    convention: Literal["vipctl-intercom"]
    topic: Annotated[str, AfterValidator(check_topic_part)]  # e.g. vipctl/intercom/staff
