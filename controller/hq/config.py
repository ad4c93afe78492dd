"""The head-office file (hq.yaml): its broker, its database, its API and who may use it.

Validated once, at load (`load_hq`), with the site file's own sections where they mean the
same (mqtt, database, api, auth): one rule, one error message, in both files. An error
names the file, the line and the field (common/yamlconf.py). docs/configuration.md, "hq.yaml",
describes every field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, model_validator
from sqlalchemy.engine import make_url

from common.yamlconf import FieldError, load_model
from controller.auth.settings import AuthSettings
from controller.config.api import ApiSettings
from controller.config.site import DatabaseSettings, Id, MqttSettings
from devices.config import DisplayName
from devices.conventions.base import TopicPart

# Head office's own client id on its broker: fixed, because its session (clean_session
# false) is found again by it, and with it the messages queued while it was away.
HQ_CLIENT_ID = "vipctl-hq"
# Where `vipctl hq` listens by default: beside a site daemon's 8765 on one laptop.
HQ_PORT = 8766


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HqMqttSettings(MqttSettings):
    """The site file's `mqtt:` section, with head office's client id by default."""

    client_id: TopicPart = HQ_CLIENT_ID

    @model_validator(mode="before")
    @classmethod
    def _hq_client_id(cls, data: Any, info: ValidationInfo) -> Any:
        # Before the parent's default status topic is derived from the client id.
        if isinstance(data, dict) and "client_id" not in data:
            data = {**data, "client_id": HQ_CLIENT_ID}
        return data


class HqConfig(_Section):
    mqtt: HqMqttSettings
    database: DatabaseSettings  # no default: head office's database is never a guess
    api: ApiSettings = ApiSettings()
    auth: AuthSettings = AuthSettings()
    # Sites to show before they are first heard from: id → display name.
    sites: dict[Id, DisplayName] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _no_standby(self) -> HqConfig:
        if self.database.standby:
            raise FieldError("a site's hot standby; head office has none (run one vipctl hq)",
                             at=("database", "standby"))
        return self

    @property
    def on_sqlite(self) -> bool:
        return make_url(self.database.url).get_backend_name() == "sqlite"


def load_hq(path: Path, *, require_env: bool = True, notes: list[str] | None = None,
            ) -> HqConfig:
    """Read and validate a head-office file. Raises common.yamlconf.ConfigError."""
    context: dict[str, Any] = {"base_dir": path.resolve().parent, "require_env": require_env,
                               "notes": notes if notes is not None else []}
    return load_model(path, HqConfig, context=context)
