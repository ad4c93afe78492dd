"""`vipctl bridge-config`: the Mosquitto bridge section that joins a site's broker to head
office's, and the ACL lines for both brokers (controller/link/bridge.py)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from common.yamlconf import ConfigError
from controller.cli.loading import EXIT_BAD_CONFIG, ConfigOption
from controller.config.site import ENV_NAME_PATTERN, load_site
from controller.link.bridge import Bridge, BridgeConfigError, HeadOffice


def _fail(message: str) -> typer.Exit:
    print(f"error: {message}", file=sys.stderr)
    return typer.Exit(EXIT_BAD_CONFIG)


def _password(variable: str | None) -> str | None:
    # Read from the environment, never from the command line (where `ps` shows it); it
    # goes nowhere but the printed section, which is what the option asks for.
    if variable is None:
        return None
    if not ENV_NAME_PATTERN.match(variable):
        raise _fail(f"--password-env: {variable!r} is not an environment variable's name")
    value = os.environ.get(variable)
    if not value:
        raise _fail(f"--password-env: environment variable {variable} is not set or empty")
    return value


def register(app: typer.Typer) -> None:
    @app.command("bridge-config")
    def bridge_config(
        config: ConfigOption,
        hq: Annotated[str, typer.Option(
            "--hq", help="Head office's broker: mqtts://host[:port] (mqtt:// on a trusted "
                         "network only).")],
        user: Annotated[str | None, typer.Option(help="The site's login at head office.")
                        ] = None,
        password_env: Annotated[str | None, typer.Option(
            help="The environment variable holding that login's password, printed into "
                 "the section.")] = None,
        cafile: Annotated[Path | None, typer.Option(
            help="The CA certificate(s) that signed head office's (mqtts://).")] = None,
        name: Annotated[str | None, typer.Option(
            help="The bridge's name and client id at head office (default vipctl-<site>).")
                        ] = None,
    ) -> None:
        """Print the Mosquitto bridge section for this site, then both brokers' ACL lines."""
        try:
            site = load_site(config, require_env=False)
        except ConfigError as exc:
            for problem in exc.problems:
                print(problem, file=sys.stderr)
            raise typer.Exit(EXIT_BAD_CONFIG) from None
        if cafile is not None and not cafile.is_file():
            raise _fail(f"--cafile: no such file: {cafile}")
        try:
            bridge = Bridge(site_id=site.site.id, hq=HeadOffice.parse(hq),
                            name=name or f"vipctl-{site.site.id}",
                            local_prefix=site.mqtt.topic_prefix, user=user,
                            password=_password(password_env),
                            cafile=None if cafile is None else cafile.resolve())
        except BridgeConfigError as exc:
            raise _fail(str(exc)) from None
        sys.stdout.write(bridge.text())
