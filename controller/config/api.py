"""The `api:` section of the site file: how the HTTP API and the page are served.

    api:
      tls: {cert: vipctl.crt, key: vipctl.key}   # `vipctl tls-cert` makes a pair for a LAN
      hsts: true                                 # tell browsers: this site only over HTTPS
      trusted_proxies: [127.0.0.1]               # a TLS proxy in front that sets X-Forwarded-For
      limits: {requests_per_credential: 8, streams_per_credential: 4, streams: 64}
      metrics_token_env: VIPCTL_METRICS_TOKEN    # Prometheus's own token, for /metrics only

Every field is optional. Without `trusted_proxies`, no request header may say where a
client is: the address that connected is the one throttled and logged.
"""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from common.envvars import read_env_fields
from common.yamlconf import FieldError, beside_file
from controller.auth.settings import MIN_TOKEN_LENGTH, EnvName

# Requests one credential (a token, or a signed-in user) may have in progress at once: a
# page makes two or three, a script looping in parallel more, and that is what is capped.
REQUESTS_PER_CREDENTIAL = 8
# Live feeds (GET /events/stream): per credential (a user's phone and desk screen and a
# spare tab), and for the whole site.
STREAMS_PER_CREDENTIAL = 4
STREAMS = 64


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _existing_file(value: Path, info: ValidationInfo) -> Path:
    path = beside_file(value, info)
    if not path.is_file():
        raise ValueError(f"no such file: {path}")
    return path


class TlsSettings(_Section):
    """The certificate (PEM, the chain after it if any) and its private key (PEM)."""

    cert: Path
    key: Path

    _exist = field_validator("cert", "key")(_existing_file)


class Limits(_Section):
    requests_per_credential: int = Field(default=REQUESTS_PER_CREDENTIAL, ge=1, le=1000)
    streams_per_credential: int = Field(default=STREAMS_PER_CREDENTIAL, ge=1, le=100)
    streams: int = Field(default=STREAMS, ge=1, le=10_000)


class ApiSettings(_Section):
    tls: TlsSettings | None = None
    hsts: bool = False
    # Addresses or networks (CIDR) of reverse proxies whose X-Forwarded-For and
    # X-Forwarded-Proto are believed; nobody else's are.
    trusted_proxies: list[IPv4Network | IPv6Network] = Field(
        default_factory=list)
    limits: Limits = Limits()
    # A token good for GET /metrics and nothing else, for a Prometheus server that should
    # not hold a credential to the site's data (a viewer's token works there too).
    metrics_token: SecretStr | None = None
    metrics_token_env: EnvName | None = None  # read at load into `metrics_token`

    @model_validator(mode="before")
    @classmethod
    def _fill_in(cls, data: Any, info: ValidationInfo) -> Any:
        if isinstance(data, dict):
            data = read_env_fields(data, ("metrics_token",), info, "api")
        return data

    @field_validator("metrics_token")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < MIN_TOKEN_LENGTH:
            # Never echo it.
            raise ValueError(f"a token needs at least {MIN_TOKEN_LENGTH} characters "
                             "(`vipctl new-token` makes one)")
        return value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _networks(cls, value: object) -> object:
        if not isinstance(value, list):
            return value
        try:
            return [ip_network(str(item), strict=False) for item in value]
        except ValueError as exc:
            raise ValueError(f"not an address or network (e.g. 10.0.0.5 or 10.0.0.0/24): {exc}"
                             ) from None

    @model_validator(mode="after")
    def _hsts_needs_tls(self) -> ApiSettings:
        if self.hsts and self.tls is None:
            raise FieldError("HSTS is only sent over HTTPS: give tls too", at=("hsts",))
        return self

    @property
    def forwarded_allow_ips(self) -> list[str]:
        return [str(net) for net in self.trusted_proxies]
