"""The site file: where vipctl runs, its broker and database, its devices and groups.

Validated once, at load (`load_site`); everything downstream can trust it. Defaults live here
and nowhere else. docs/configuration.md describes the format field by field.
"""

from __future__ import annotations

import difflib
import os
import re
from pathlib import Path
from typing import Annotated, Any, NamedTuple
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    SecretStr,
    StrictBool,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from common.envvars import read_env_fields
from common.yamlconf import FieldError, load_model
from controller.auth.settings import AuthSettings
from controller.config.api import ApiSettings
from devices.config import CommandPolicy, DeviceConfig, DisplayName
from devices.conventions.base import TopicPart, check_topic_part
from devices.errors import UnknownTarget
from devices.serial_site import SerialPortConfig, serial_problems

# Device and group ids: they appear in scene files, logs and API paths, so keep them plain.
ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
# Names accepted in username_env / password_env.
ENV_NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# IANA-registered MQTT ports (plain and TLS).
MQTT_PORT, MQTTS_PORT = 1883, 8883
# The database when none is configured: an SQLite file next to the site file.
DEFAULT_DATABASE_URL = "sqlite:///vipctl.db"
# A site file without `site.id` is one site on its own SQLite file (as every site was before
# ids): its rows carry this id. A shared database or head office needs a real one.
DEFAULT_SITE_ID = "site"


def state_directory() -> Path | None:
    """The service's state folder when systemd started vipctl (StateDirectory=), or None.
    systemd separates several with colons; the unit vipctl ships names one."""
    value = os.environ.get("STATE_DIRECTORY", "")
    return Path(value.split(":")[0]) if value else None


def _check_id(value: str) -> str:
    if not ID_PATTERN.match(value):
        rule = "lower-case letters, digits and _, starting with a letter"
        raise ValueError(f"{value!r} is not a valid id ({rule})")
    return value


def _check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{value!r} is not an IANA time zone (e.g. Asia/Shanghai)") from None
    return value


def _check_broker_url(value: str) -> str:
    # Messages never repeat the URL: it might hold a password.
    parts = urlsplit(value)
    if parts.scheme not in ("mqtt", "mqtts"):
        got = f"{parts.scheme}://" if parts.scheme else "none"
        raise ValueError(f"the scheme must be mqtt:// or mqtts:// (got {got})")
    if parts.username is not None or parts.password is not None:
        raise ValueError("put credentials in username/password (or *_env), not in the URL")
    if not parts.hostname:
        raise ValueError("the URL names no host (mqtt://host[:port])")
    try:
        port = parts.port
    except ValueError:
        raise ValueError("the port must be a number from 1 to 65535") from None
    if port == 0:
        raise ValueError("the port must be a number from 1 to 65535")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError("an MQTT URL has no path, query or fragment (mqtt://host[:port])")
    return value


def _check_prefix(value: str) -> str:
    return check_topic_part(value) if value else value


def _base_dir(info: ValidationInfo) -> Path:
    """The site file's folder: relative paths in the file are relative to it."""
    context = info.context or {}
    return Path(context.get("base_dir") or Path.cwd())


Id = Annotated[str, AfterValidator(_check_id)]
RESERVED_SITE_IDS = frozenset({"media", "intercom"})
EnvName = Annotated[str, Field(pattern=ENV_NAME_PATTERN.pattern)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SiteInfo(_Section):
    # The site's id in the database it may share with other sites, and in its topics
    # to head office (vipctl/<id>/...): the same rule as device ids.
    id: Id = DEFAULT_SITE_ID
    name: DisplayName
    timezone: Annotated[str, AfterValidator(_check_timezone)]  # IANA, e.g. Asia/Shanghai

    @field_validator("id")
    @classmethod
    def _not_a_gateway_root(cls, value: str) -> str:
        # vipctl/media/... and vipctl/intercom/... are the gateways' topics: a site of that
        # name would send its events among them.
        if value in RESERVED_SITE_IDS:
            raise ValueError(f"{value!r} is reserved (vipctl/{value}/ holds the gateways' topics)")
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class BrokerAddress(NamedTuple):
    host: str
    port: int
    tls: bool


class MqttSettings(_Section):
    url: Annotated[str, AfterValidator(_check_broker_url)]
    username: SecretStr | None = None
    password: SecretStr | None = None
    username_env: EnvName | None = None  # read at load into `username`
    password_env: EnvName | None = None  # read at load into `password`
    client_id: TopicPart = "vipctl"
    ca_file: Path | None = None  # resolved against the site file's folder
    keepalive: int = Field(default=30, ge=1, le=65535)  # seconds
    topic_prefix: Annotated[str, AfterValidator(_check_prefix)] = ""  # put before every topic
    status_topic: TopicPart  # default vipctl/<client_id>/status, filled in below

    @model_validator(mode="before")
    @classmethod
    def _fill_in(cls, data: Any, info: ValidationInfo) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        client_id = data.get("client_id", "vipctl")
        data.setdefault("status_topic", f"vipctl/{client_id}/status")
        return read_env_fields(data, ("username", "password"), info, "mqtt")

    @field_validator("ca_file")
    @classmethod
    def _ca_file_exists(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        if value is None:
            return None
        path = value if value.is_absolute() else _base_dir(info) / value
        if not path.is_file():
            raise ValueError(f"no such file: {path}")
        return path

    @model_validator(mode="after")
    def _consistent(self) -> MqttSettings:
        if self.ca_file is not None and not self.connection.tls:
            raise FieldError("only used with an mqtts:// URL", at=("ca_file",))
        if self.password is not None and self.username is None:
            raise FieldError("a password needs a username (username or username_env)",
                             at=("password",))
        return self

    @property
    def connection(self) -> BrokerAddress:
        parts = urlsplit(self.url)
        tls = parts.scheme == "mqtts"
        port = parts.port or (MQTTS_PORT if tls else MQTT_PORT)
        return BrokerAddress(host=parts.hostname or "", port=port, tls=tls)


class DatabaseSettings(_Section):
    # Not in repr: a PostgreSQL URL can hold a password. Print `display_url` instead.
    url: str = Field(default=DEFAULT_DATABASE_URL, repr=False, validate_default=True)
    # Hot standby: two `vipctl run` of the site on two machines, the active one holding a
    # PostgreSQL advisory lock (controller/standby.py). Needs PostgreSQL at the site.
    standby: bool = False

    @model_validator(mode="after")
    def _standby_needs_postgresql(self) -> DatabaseSettings:
        if self.standby and make_url(self.url).get_backend_name() != "postgresql":
            raise FieldError("needs a PostgreSQL database (the active daemon holds a lock in "
                             "it that the standby waits for)", at=("standby",))
        return self

    @field_validator("url")
    @classmethod
    def _resolve(cls, value: str, info: ValidationInfo) -> str:
        try:
            url = make_url(value)
        except (ArgumentError, ValueError):
            raise ValueError("not an SQLAlchemy database URL (e.g. sqlite:///vipctl.db)") from None
        database = url.database or ""
        # ":memory:" and "file:" URIs are not paths; every other SQLite database is a file.
        if url.get_backend_name() == "sqlite" and database not in ("", ":memory:") \
                and not database.startswith("file:"):
            path = Path(database)
            state_dir = (info.context or {}).get("state_dir")
            if not path.is_absolute():
                # Under systemd the site file's folder is read-only (ProtectSystem=strict):
                # a relative file, the default one too, goes in the service's state folder.
                path = (Path(state_dir) if state_dir else _base_dir(info)) / path
            # The state folder is made by systemd as the service starts.
            if not path.parent.is_dir() and not (state_dir and path.parent == Path(state_dir)):
                raise ValueError(f"no such folder for the SQLite file: {path.parent}")
            url = url.set(database=str(path))
        return url.render_as_string(hide_password=False)

    @property
    def display_url(self) -> str:
        return make_url(self.url).render_as_string(hide_password=True)


class LinkSettings(_Section):
    # The link to head office (controller/link): events, the summary and booking requests
    # under vipctl/<site.id>/ on the site's broker, for its Mosquitto bridge to carry.
    # Off for a site that has no head office to report to.
    enabled: StrictBool = True


class ReportSettings(_Section):
    # Where `vipctl report` writes and the API serves the reports (controller/reports).
    # Relative: to the site file's folder. Unset: `reports` beside an SQLite file, else in
    # the service's state folder or the site file's folder.
    folder: Path | None = None

    @field_validator("folder")
    @classmethod
    def _relative_to_site(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        return value if value is None or value.is_absolute() else _base_dir(info) / value


class HomeAssistantSettings(_Section):
    # Home Assistant's MQTT discovery (controller/homeassistant): vipctl as one device, its
    # buttons, sensors and announcement events. Off, vipctl removes the configs it left.
    discovery: StrictBool = False
    prefix: TopicPart = "homeassistant"  # Home Assistant's discovery prefix (its default)


class SiteConfig(_Section):
    site: SiteInfo
    mqtt: MqttSettings
    database: DatabaseSettings = Field(default_factory=dict, validate_default=True)
    commands: CommandPolicy = CommandPolicy()  # the site-wide default
    devices: dict[Id, DeviceConfig] = Field(min_length=1)
    groups: dict[Id, Annotated[list[str], Field(min_length=1)]] = Field(default_factory=dict)
    auth: AuthSettings = AuthSettings()  # who may use the API and the page
    api: ApiSettings = ApiSettings()  # how the API and the page are served
    # Serial ports the `serial:` devices name (devices/serial_site.py).
    serial_ports: dict[Id, SerialPortConfig] = Field(default_factory=dict)
    link: LinkSettings = LinkSettings()  # the link to head office
    reports: ReportSettings = Field(default_factory=ReportSettings, validate_default=True)
    # None (no section): vipctl leaves Home Assistant's topics alone.
    homeassistant: HomeAssistantSettings | None = None

    @field_validator("reports")
    @classmethod
    def _reports_folder(cls, value: ReportSettings, info: ValidationInfo) -> ReportSettings:
        """The daemon and the CLI agree on one folder: fill in the default here."""
        if value.folder is not None:
            return value
        database = info.data.get("database")
        url = make_url(database.url) if isinstance(database, DatabaseSettings) else None
        if url is not None and url.get_backend_name() == "sqlite" and url.database \
                and Path(url.database).is_absolute():
            return value.model_copy(update={"folder": Path(url.database).parent / "reports"})
        state_dir = (info.context or {}).get("state_dir")
        base = Path(state_dir) if state_dir else _base_dir(info)
        return value.model_copy(update={"folder": base / "reports"})

    @model_validator(mode="wrap")
    @classmethod
    def _check_groups(cls, data: Any, handler: ModelWrapValidatorHandler[SiteConfig]) -> SiteConfig:
        # Checked on the input, so that a broken device does not hide a broken group.
        problems = _group_problems(data)
        try:
            config = handler(data)
        except ValidationError as exc:
            if not problems:
                raise
            raise _add_errors(exc, data, problems) from None
        if problems:
            raise FieldError.many(problems)
        return config

    @model_validator(mode="after")
    def _shared_database_needs_an_id(self) -> SiteConfig:
        if "id" not in self.site.model_fields_set \
                and make_url(self.database.url).get_backend_name() != "sqlite":
            raise FieldError("required when the database is not a file of this site's own "
                             "(sites sharing a database tell their rows apart by it)",
                             at=("site", "id"))
        return self

    @model_validator(mode="after")
    def _devices_fit_together(self) -> SiteConfig:
        problems: list[FieldError] = []
        owners: dict[tuple[Any, ...], str] = {}
        for device_id, device in self.devices.items():
            if device.command is not None:
                try:
                    _merged(self.commands, device.command)
                except ValidationError:
                    problems.append(FieldError(
                        "with the site's commands policy filled in, max_backoff is below "
                        "backoff", at=("devices", device_id, "command")))
            for media_id in device.duck:  # an intercom ducks media devices of this site
                if self.devices.get(media_id, device).kind != "media":
                    problems.append(FieldError(f"{media_id!r} is not a media device of this site",
                                               at=("devices", device_id, "duck", media_id)))
            if device.local is not None or device.serial is not None:
                continue  # in-process, or a unit on a port (serial_problems below)
            field, _, key = device.binding.wire_address()
            other = owners.setdefault(key, device_id)
            if other != device_id:
                problems.append(FieldError(f"devices.{other} already uses this address",
                                           at=("devices", device_id, device.transport, field)))
        problems.extend(serial_problems(self.devices, self.serial_ports))
        if problems:
            raise FieldError.many(problems)
        return self

    def resolve(self, target: str) -> list[str]:
        """Device ids named by `target`: a device id, or a group's members in order."""
        if target in self.devices:
            return [target]
        if target in self.groups:
            return list(self.groups[target])
        raise UnknownTarget(target, [*self.devices, *self.groups])

    def policy_for(self, device_id: str) -> CommandPolicy:
        """The site's command policy, with the fields the device's own `command:` gives."""
        device = self.devices.get(device_id)
        if device is None:
            raise UnknownTarget(device_id, self.devices)
        return self.commands if device.command is None else _merged(self.commands, device.command)


def _merged(site: CommandPolicy, own: CommandPolicy) -> CommandPolicy:
    return CommandPolicy.model_validate(
        {**site.model_dump(), **own.model_dump(exclude_unset=True)}
    )


def _group_problems(data: Any) -> list[FieldError]:
    """Unknown or repeated members, and group names taken by a device, in the raw input."""
    if not isinstance(data, dict):
        return []
    devices, groups = data.get("devices"), data.get("groups")
    if not isinstance(devices, dict) or not isinstance(groups, dict):
        return []
    problems: list[FieldError] = []
    for name, members in groups.items():
        if name in devices:
            problems.append(FieldError(f"{name!r} is already a device id; groups need their "
                                       "own names", at=("groups", name)))
        first: dict[str, int] = {}
        for i, member in enumerate(members if isinstance(members, list) else []):
            at = ("groups", name, i)
            if not isinstance(member, str):
                continue  # the field's own validation says why
            if member not in devices:
                close = difflib.get_close_matches(member, [str(d) for d in devices], n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                problems.append(FieldError(f"unknown device {member!r}{hint}", at=at))
            elif member in first:
                problems.append(FieldError(f"{member!r} is listed twice (also at "
                                           f"[{first[member]}])", at=at))
            first.setdefault(member, i)
    return problems


def _add_errors(exc: ValidationError, data: Any, problems: list[FieldError]) -> ValidationError:
    """`exc` with `problems` added, so that one load reports both."""
    details: list[InitErrorDetails] = []
    for error in exc.errors():
        detail = InitErrorDetails(type=error["type"], loc=error["loc"], input=error["input"])
        if "ctx" in error:
            detail["ctx"] = error["ctx"]
        details.append(detail)
    details.append(InitErrorDetails(type="value_error", loc=(), input=data,
                                    ctx={"error": FieldError.many(problems)}))
    try:
        return ValidationError.from_exception_data(exc.title, details)
    except (KeyError, TypeError, ValueError):  # an error type pydantic cannot rebuild
        return exc


def load_site(path: Path, *, require_env: bool = True, notes: list[str] | None = None,
              state_dir: Path | None = None) -> SiteConfig:
    """Read and validate a site file. Raises common.yamlconf.ConfigError.

    With require_env=False an unset `*_env` variable is not an error but a line in `notes`
    (for `check-config` on a laptop, where the site's secrets are rightly absent).
    A relative SQLite path is relative to `state_dir` if given, else to systemd's
    $STATE_DIRECTORY when vipctl runs as its service, else to the site file's folder.
    """
    state_dir = state_dir or state_directory()
    # The folder as named, links not followed: config/demo.yaml (a link to the packaged
    # demo site) keeps its database in config/.
    context: dict[str, Any] = {"base_dir": Path(os.path.abspath(path)).parent,
                               "require_env": require_env,
                               "notes": notes if notes is not None else [],
                               "state_dir": state_dir}
    return load_model(path, SiteConfig, context=context)
