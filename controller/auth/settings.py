"""The `auth:` section of the site file: who may use the HTTP API and the page, with which role.

    auth:
      users:                         # a password login for the page
        concierge: {role: concierge, password_hash_env: VIPCTL_CONCIERGE_HASH}
        manager:   {role: admin, password_hash: "$argon2id$v=19$m=65536,t=3,p=4$..."}
      tokens:                        # API tokens, sent as `Authorization: Bearer <token>`
        - {name: cli, role: admin, token_env: VIPCTL_API_TOKEN}
        - {name: lobby_screen, role: viewer, token_sha256: "9f86d081..."}
      session_hours: 12

A password is never in the file, only its argon2 hash (`vipctl hash-password`). A token is
given by the variable that holds it (`token_env`), by its SHA-256 (`token_sha256`, from
`vipctl new-token`), or, least good, as itself (`token`). Like the broker's secrets, `*_env`
variables are read at load. Validated once, here; controller.auth.credentials builds on the result.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationInfo, model_validator

from common.envvars import read_env_fields
from common.yamlconf import FieldError

# User and token names: they end up in the event log's `source` ("app:<user>", at most 32).
NAME_PATTERN = r"^[a-z][a-z0-9_.-]{0,27}$"
ENV_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
# A token shorter than this can be guessed; `vipctl new-token` gives 43 characters.
MIN_TOKEN_LENGTH = 16
# What an argon2 hash from argon2-cffi (and `vipctl hash-password`) looks like.
ARGON2_PREFIX = re.compile(r"^\$argon2(id|i|d)\$")
SHA256_HEX = r"^[0-9a-f]{64}$"
# A working day at the front desk; a stolen phone's session ends within it.
DEFAULT_SESSION_HOURS = 12.0
MAX_SESSION_HOURS = 24.0 * 31


class Role(StrEnum):
    """What a credential may do: viewer reads; concierge also books and triggers; admin all."""

    VIEWER = "viewer"
    CONCIERGE = "concierge"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return _RANKS[self]

    def allows(self, needed: Role) -> bool:
        return self.rank >= needed.rank


_RANKS = {Role.VIEWER: 1, Role.CONCIERGE: 2, Role.ADMIN: 3}

Name = Annotated[str, Field(pattern=NAME_PATTERN)]
EnvName = Annotated[str, Field(pattern=ENV_NAME_PATTERN)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class UserSpec(_Section):
    role: Role
    password_hash: SecretStr | None = None  # argon2, from `vipctl hash-password`
    password_hash_env: EnvName | None = None

    @model_validator(mode="before")
    @classmethod
    def _fill_in(cls, data: Any, info: ValidationInfo) -> Any:
        if isinstance(data, dict):
            data = read_env_fields(data, ("password_hash",), info, "auth.users")
        return data

    @model_validator(mode="after")
    def _is_a_hash(self) -> UserSpec:
        if self.password_hash is None:
            if self.password_hash_env is None:
                raise FieldError("give password_hash or password_hash_env")
            return self  # a variable not set on this machine (check-config): noted already
        if not ARGON2_PREFIX.match(self.password_hash.get_secret_value()):
            # Never echo the value: it may be a password pasted by mistake.
            raise FieldError("not an argon2 hash; make one with `vipctl hash-password`",
                             at=("password_hash",))
        return self


class TokenSpec(_Section):
    name: Name
    role: Role
    token: SecretStr | None = None
    token_env: EnvName | None = None
    token_sha256: Annotated[str, Field(pattern=SHA256_HEX)] | None = None

    @model_validator(mode="before")
    @classmethod
    def _fill_in(cls, data: Any, info: ValidationInfo) -> Any:
        if isinstance(data, dict):
            data = read_env_fields(data, ("token",), info, "auth.tokens")
        return data

    @model_validator(mode="after")
    def _one_way(self) -> TokenSpec:
        given = [f for f in ("token", "token_sha256") if getattr(self, f) is not None]
        if len(given) > 1:
            raise FieldError("give one of token, token_env or token_sha256")
        if not given and self.token_env is None:
            raise FieldError("give one of token, token_env or token_sha256")
        if self.token is not None and len(self.token.get_secret_value()) < MIN_TOKEN_LENGTH:
            raise FieldError(f"a token needs at least {MIN_TOKEN_LENGTH} characters "
                             "(`vipctl new-token` makes one)", at=("token",))
        return self


class AuthSettings(_Section):
    users: dict[Name, UserSpec] = Field(default_factory=dict)
    tokens: list[TokenSpec] = Field(default_factory=list)
    session_hours: float = Field(default=DEFAULT_SESSION_HOURS, gt=0, le=MAX_SESSION_HOURS)

    @model_validator(mode="after")
    def _names_once(self) -> AuthSettings:
        seen: set[str] = set()
        for i, token in enumerate(self.tokens):
            if token.name in seen:
                raise FieldError(f"token name {token.name!r} is used twice", at=("tokens", i))
            seen.add(token.name)
        return self
