"""The files and options a command is given, loaded before anything starts: a problem is
printed as `file:line: field: message` on stderr and the command exits 2."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer

from common.yamlconf import ConfigError
from controller.config.scene import load_scene_for
from controller.config.site import SiteConfig, load_site
from controller.errors import BadInput
from controller.lifecycle import LOG_LEVELS
from scenes.model import Scene

# Exit statuses: a file or option that cannot be used (click uses 2 for usage errors too),
# and a run that failed.
EXIT_BAD_CONFIG = 2
EXIT_FAILED = 1

ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="The site file (YAML).")]
LogLevelOption = Annotated[str, typer.Option(
    help=f"One of {', '.join(LOG_LEVELS)}.", case_sensitive=False)]


@contextlib.contextmanager
def exit_on_bad_input() -> Iterator[None]:
    try:
        yield
    except BadInput as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        raise typer.Exit(EXIT_BAD_CONFIG) from None


def check_log_level(level: str) -> None:
    if level.lower() not in LOG_LEVELS:
        raise BadInput([f"--log-level: {level!r} is not one of {', '.join(LOG_LEVELS)}"])


def load_site_file(path: Path, *, require_env: bool = True, state_dir: Path | None = None,
                   ) -> SiteConfig:
    try:
        return load_site(path, require_env=require_env, state_dir=state_dir)
    except ConfigError as exc:
        raise BadInput([str(p) for p in exc.problems]) from None


def load_scene_file(site: SiteConfig, path: Path | None = None) -> Scene:
    """The scene (vipctl's own procedure by default), checked against the site."""
    try:
        return load_scene_for(site, path)
    except ConfigError as exc:
        raise BadInput([str(p) for p in exc.problems]) from None
