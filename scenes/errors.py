"""The scene layer's exceptions, rooted in SceneError (a common.errors.VipctlError).

A scene file that does not validate is a common.yamlconf.ConfigError, like every file.
"""

from __future__ import annotations

from common.errors import VipctlError


class SceneError(VipctlError):
    """Root of the scene layer's exceptions."""


class TemplateError(SceneError, ValueError):
    """A template that is not allowed: a brace error or a placeholder not in PLACEHOLDERS.
    (A ValueError too, so that a validator raising it is reported at the field.)"""

    def __init__(self, message: str, *, template: str | None = None) -> None:
        super().__init__(message)
        self.template = template
