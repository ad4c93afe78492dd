"""A site file's broker and database replaced from the command line (`--mqtt`, `--prefix`,
the demo's throw-away database), checked exactly as they would be in the file."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from controller.config.site import DatabaseSettings, MqttSettings, SiteConfig
from controller.errors import BadInput

# The command-line option each field of `mqtt:` is given by.
_OPTIONS = {"url": "--mqtt", "topic_prefix": "--prefix"}


def with_broker(site: SiteConfig, url: str | None, prefix: str | None) -> SiteConfig:
    """The site with another broker URL and/or topic prefix. Raises BadInput."""
    if url is None and prefix is None:
        return site
    data = site.mqtt.model_dump(exclude_unset=True, exclude={"status_topic"})
    data["status_topic"] = site.mqtt.status_topic
    for field in ("username", "password"):
        if data.get(f"{field}_env"):  # read from the environment again, not given twice
            data.pop(field, None)
    if url is not None:
        data["url"] = url
    if prefix is not None:
        data["topic_prefix"] = prefix
    try:
        mqtt = MqttSettings.model_validate(data)
    except ValidationError as exc:
        raise BadInput([_option_error(e) for e in exc.errors()]) from None
    return site.model_copy(update={"mqtt": mqtt})


def with_database(site: SiteConfig, url: str) -> SiteConfig:
    return site.model_copy(update={"database": DatabaseSettings.model_validate({"url": url})})


def _option_error(error: Any) -> str:
    field = ".".join(str(part) for part in error["loc"])
    option = _OPTIONS.get(field, f"mqtt.{field}")
    return f"{option}: {error['msg'].removeprefix('Value error, ')}"
