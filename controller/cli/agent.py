"""`vipctl agent media`: the command that runs an agent file until SIGTERM or Ctrl-C."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from common.yamlconf import ConfigError
from controller.cli.loading import LogLevelOption, check_log_level, exit_on_bad_input
from controller.errors import BadInput
from controller.lifecycle import configure_logging, stop_on_signals

agent_app = typer.Typer(
    help="Run a player PC's players and speakers for vipctl (docs/media.md).",
    no_args_is_help=True,
)


@agent_app.command("media")
def media(
    config: Annotated[Path, typer.Option("--config", "-c", help="The agent file (YAML).")],
    check: Annotated[bool, typer.Option("--check", help="Only check the file.")] = False,
    log_level: LogLevelOption = "info",
) -> None:
    """Play this PC's music, video and announcements, driven by vipctl over MQTT."""
    from controller.agent.agent import Agent, load_agent

    with exit_on_bad_input():
        check_log_level(log_level)
        try:
            agent_config = load_agent(config)
        except ConfigError as exc:
            raise BadInput([str(p) for p in exc.problems]) from None
    if check:
        names = [*agent_config.players, *agent_config.speakers]
        print(f"{config}: {len(names)} devices ({', '.join(names)})")
        return
    configure_logging(log_level)

    async def main() -> None:
        stop = asyncio.Event()
        stop_on_signals(stop)
        await Agent(agent_config).run(stop)

    asyncio.run(main())


def register(app: typer.Typer) -> None:
    app.add_typer(agent_app, name="agent")
