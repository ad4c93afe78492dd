"""vipctl-media: vipctl's own JSON convention for remote media players."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator

from devices.conventions.base import ConventionOptions, check_topic_part


class VipctlMediaOptions(ConventionOptions):
    convention: Literal["vipctl-media"]
    topic: Annotated[str, AfterValidator(check_topic_part)]  # e.g. vipctl/media/vip_room_tv
