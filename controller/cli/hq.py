"""`vipctl hq`: head office (controller/hq), from its own file (hq.yaml)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from common.yamlconf import ConfigError
from controller.cli.loading import LogLevelOption, check_log_level, exit_on_bad_input
from controller.errors import BadInput
from controller.hq.config import HQ_PORT, load_hq
from controller.lifecycle import configure_logging


def hq(
    config: Annotated[Path, typer.Option("--config", "-c", help="The head-office file (YAML).")],
    api_host: Annotated[str, typer.Option(help="Address the page and API listen on.")
                        ] = "127.0.0.1",
    api_port: Annotated[int, typer.Option(min=0, max=65535, help="0: any free port.")
                        ] = HQ_PORT,
    log_level: LogLevelOption = "info",
) -> None:
    """Head office: store every site's events and serve the page, until SIGTERM or Ctrl-C."""
    # Here, not at the top: head office's app and API server are not every command's.
    from controller.hq.run import run_hq

    with exit_on_bad_input():
        check_log_level(log_level)
        try:
            settings = load_hq(config)
        except ConfigError as exc:
            raise BadInput([str(p) for p in exc.problems]) from None
    configure_logging(log_level)
    raise typer.Exit(asyncio.run(run_hq(settings, api_host, api_port)))


def register(app: typer.Typer) -> None:
    app.command("hq")(hq)
