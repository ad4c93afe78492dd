"""Secrets in configuration files given by the environment variable that holds them
(`password_env: VIPCTL_MQTT_PASSWORD`), read once, when the file is validated.

A file checked on another machine than the site box (`vipctl check-config` on a laptop,
where the site's secrets are rightly absent) is validated with `require_env: False` in the
context: an unset variable is then a note, not an error.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from pydantic import ValidationInfo

from common.yamlconf import FieldError


def read_env_fields(data: dict[str, Any], fields: Iterable[str], info: ValidationInfo,
                    where: str) -> dict[str, Any]:
    """`data` with each `<field>_env`'s variable read into `field`, for a `mode="before"`
    model validator. Raises FieldError naming every problem (`where`: the section's path,
    for the notes)."""
    data = dict(data)
    context = info.context if isinstance(info.context, dict) else {}
    problems: list[FieldError] = []
    for field in fields:
        variable = data.get(f"{field}_env")
        if variable is None or not isinstance(variable, str):
            continue  # absent, or the field's own validation says why
        at = (f"{field}_env",)
        value = os.environ.get(variable)
        if data.get(field) is not None:
            problems.append(FieldError(f"give {field} or {field}_env, not both", at=at))
        elif value is None and not context.get("require_env", True):
            context.setdefault("notes", []).append(
                f"{where}.{field}_env: {variable} is not set here; `vipctl run` needs it")
        elif value is None:
            problems.append(FieldError(f"environment variable {variable} is not set", at=at))
        elif not value:
            problems.append(FieldError(f"environment variable {variable} is empty", at=at))
        else:
            data[field] = value
    if problems:
        raise FieldError.many(problems)
    return data
