"""The `vipctl` command: one sub-command per task, each a thin call into the module doing it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from common.yamlconf import ConfigError
from controller.cli.agent import register as register_agent_commands
from controller.cli.auth import register as register_auth_commands
from controller.cli.backup import register as register_backup_commands
from controller.cli.bridge import register as register_bridge_command
from controller.cli.client import register as register_client_commands
from controller.cli.db import db_app
from controller.cli.hq import register as register_hq_command
from controller.cli.loading import EXIT_BAD_CONFIG
from controller.cli.preflight import register as register_preflight_command
from controller.cli.report import report_app
from controller.cli.run import register as register_running_commands
from controller.cli.say import register as register_say_command
from controller.cli.service import service_app
from controller.cli.walk_ins import register as register_walk_ins_command
from controller.config.site import load_site

app = typer.Typer(
    name="vipctl",
    help="Runs a sales center's VIP reception procedure on its devices.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def _root() -> None:
    """Runs a sales center's VIP reception procedure on its devices."""
    # A callback keeps `vipctl <command>` a group even while it has a single command.


@app.command("check-config")
def check_config(
    path: Annotated[Path, typer.Argument(help="The site file (YAML) to check.")],
) -> None:
    """Check a site file; print its devices and groups, or every problem with its line."""
    from rich.console import Console

    from controller.cli.check_config import render_site  # rich's tables: this command's

    notes: list[str] = []
    try:
        config = load_site(path, require_env=False, notes=notes)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        raise typer.Exit(EXIT_BAD_CONFIG) from None
    render_site(config, Console())
    for note in notes:
        print(f"note: {path}: {note}", file=sys.stderr)


register_running_commands(app)  # run, simulate, demo: controller/cli/run.py
register_client_commands(app)  # visit, trigger, plan, status, events: the API
register_auth_commands(app)  # hash-password, new-token: the site file's auth:
register_say_command(app)  # say: a manual announcement, through the API
register_preflight_command(app)  # preflight: check a visit's devices now, through the API
register_walk_ins_command(app)  # walk-ins: customers without a booking (P1), their callbacks
register_agent_commands(app)  # agent media: a player PC's players and speakers
register_hq_command(app)  # hq: head office, controller/hq
register_bridge_command(app)  # bridge-config: the Mosquitto bridge to head office
register_backup_commands(app)  # backup, restore: controller/cli/backup.py
app.add_typer(db_app, name="db")  # db upgrade, db rename-site: controller/cli/db.py
app.add_typer(service_app, name="service")  # service install: the systemd unit
app.add_typer(report_app, name="report")  # report visit, report month: controller/reports


def main() -> None:
    app()
