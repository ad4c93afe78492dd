"""`vipctl run`, `vipctl simulate` and `vipctl demo`: the commands that keep running.

Each loads and checks its files first (a bad file: every problem as file:line: field:
message on stderr, exit 2, nothing started), then runs until SIGTERM or SIGINT and shuts
down cleanly (exit 0).
"""

from __future__ import annotations

import asyncio
import gc
import importlib
import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from controller.api.defaults import DEFAULT_HOST, DEFAULT_PORT
from controller.cli.loading import (
    EXIT_FAILED,
    ConfigOption,
    LogLevelOption,
    check_log_level,
    exit_on_bad_input,
    load_scene_file,
    load_site_file,
)
from controller.config.overrides import with_broker
from controller.config.site import SiteConfig
from controller.daemon import Daemon
from controller.demo import DEFAULT_SPEED
from controller.errors import BadInput
from controller.lifecycle import configure_logging, stop_on_signals
from controller.service.logs import format_for_service
from controller.service.notify import Notifier, notifying
from controller.store.schema import SchemaError
from controller.store.sqlite_lock import DatabaseBusy
from scenes.model import Scene

log = logging.getLogger(__name__)


async def run_daemon(site: SiteConfig, scene: Scene, *, speed: float, api: tuple[str, int] | None,
                     ) -> int:
    """Run until a signal; the exit status (1 when the database or the API could not be
    used). Under systemd (Type=notify) it says READY=1 once the API answers, pings the
    watchdog from this event loop, and says STOPPING=1 when it begins to stop."""
    async with notifying() as notifier:
        if site.database.standby:
            from controller.standby import run_with_standby

            try:
                return await run_with_standby(site, scene, speed=speed, api=api,
                                              notifier=notifier)
            except SchemaError as exc:
                print(f"error: the database {site.database.display_url}: {exc}",
                      file=sys.stderr)
                return EXIT_FAILED
        return await _run_alone(site, scene, speed=speed, api=api, notifier=notifier)


async def _run_alone(site: SiteConfig, scene: Scene, *, speed: float,
                     api: tuple[str, int] | None, notifier: Notifier) -> int:
    try:
        daemon = Daemon(site, scene, speed=speed)
    # A newer schema, another site's file, a restore under way: nothing was touched.
    except (SchemaError, DatabaseBusy) as exc:
        print(f"error: the database {site.database.display_url}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    stop_on_signals(daemon.stopping)
    async with daemon:
        server = None
        if api is not None:
            # FastAPI, uvicorn and the app's routes take half a second to import: only now,
            # the daemon on the broker, and in a thread, so that this loop meanwhile sets
            # the held states back as the devices answer (with --api-port 0, never).
            await asyncio.to_thread(importlib.import_module, "controller.api.server")
            from controller.api.server import ApiError, serve_api
            from controller.auth.credentials import AuthError

            try:
                server = await serve_api(daemon, *api)
            except (ApiError, AuthError) as exc:  # the port is taken, a token unusable
                print(f"error: the HTTP API did not start on {api[0]}:{api[1]}: {exc}",
                      file=sys.stderr)
                return EXIT_FAILED
        notifier.ready(f"running for {site.site.name}")
        # The open visits a press looks among: read now rather than before READY=1 (the
        # schedule needed only the next day's), or by the first press.
        daemon.book.load()
        try:
            await daemon.stopping.wait()
            log.info("stopping")
            notifier.stopping()
        finally:
            if server is not None:
                await server.stop()
    return 0


# --- the commands -------------------------------------------------------------------------


def run(
    config: ConfigOption,
    scene: Annotated[Path | None, typer.Option(
        help="The scene file; default: the VIP reception procedure vipctl ships.")] = None,
    speed: Annotated[float, typer.Option(
        min=0.001, help="Run the procedure's clock this many times faster (tests, rehearsals)."
    )] = 1.0,
    api_host: Annotated[str, typer.Option(
        help="Address the HTTP API listens on.")] = DEFAULT_HOST,
    api_port: Annotated[int, typer.Option(
        min=0, max=65535, help="0: no HTTP API.")] = DEFAULT_PORT,
    log_level: LogLevelOption = "info",
    log_json: Annotated[bool, typer.Option(
        "--log-json", help="Log lines as JSON objects (time, level, logger, message).")] = False,
) -> None:
    """Run the daemon for a site until SIGTERM or Ctrl-C."""
    with exit_on_bad_input():
        check_log_level(log_level)
        site = load_site_file(config)
        the_scene = load_scene_file(site, scene)
    configure_logging(log_level)
    # Under systemd: journald's priorities, no second timestamp.
    format_for_service(json=log_json)
    api = (api_host, api_port) if api_port else None
    code = asyncio.run(run_daemon(site, the_scene, speed=speed, api=api))
    raise typer.Exit(code)


def simulate(
    config: ConfigOption,
    mqtt: Annotated[str | None, typer.Option(
        help="Broker URL (mqtt://host:port); default: the site file's.")] = None,
    prefix: Annotated[str | None, typer.Option(
        help="Topic prefix; default: the site file's.")] = None,
    log_level: Annotated[str, typer.Option(help="Logging level.")] = "warning",
) -> None:
    """Stand up a simulator for every device of a site, until Ctrl-C."""
    from rich.console import Console

    from controller.demo.simulate import simulate as run_simulators  # loads the simulators

    with exit_on_bad_input():
        site = with_broker(load_site_file(config), mqtt, prefix)
    configure_logging(log_level)
    host, port, tls = site.mqtt.connection
    if tls or site.mqtt.username is not None:
        print("note: the simulators connect without TLS or credentials", file=sys.stderr)

    async def main() -> None:
        stop = asyncio.Event()
        stop_on_signals(stop)
        await run_simulators(site, host=host, port=port, prefix=site.mqtt.topic_prefix,
                             console=Console(), stop=stop)

    try:
        asyncio.run(main())
    except TimeoutError:
        print(f"error: the broker at {host}:{port} did not let the simulators connect",
              file=sys.stderr)
        raise typer.Exit(EXIT_FAILED) from None


def demo(
    mqtt: Annotated[str | None, typer.Option(
        help="Use this broker (mqtt://host:port) instead of the embedded one.")] = None,
    speed: Annotated[float, typer.Option(
        min=1.0, help="Procedure minutes per wall-clock minute (360: an hour in 10 s).")
    ] = DEFAULT_SPEED,
    lead: Annotated[float | None, typer.Option(
        min=0.0, help="Seconds from now to the visit's start; default: just after T-45.")] = None,
    no_api: Annotated[bool, typer.Option("--no-api", help="Do not start the HTTP API.")] = False,
    manual: Annotated[bool, typer.Option(
        "--manual", help="Press nothing: drive the visit from the page it prints (or the CLI); "
        "try --speed 10.")] = False,
    prefix: Annotated[str, typer.Option(help="Topic prefix on a shared broker.")] = "",
    real_media: Annotated[bool, typer.Option(
        "--real-media", help="Play the music, the promo video and the announcements for real "
        "(libVLC, espeak-ng) instead of simulating them.")] = False,
    dummy_outputs: Annotated[bool, typer.Option(
        "--dummy-outputs", help="With --real-media: libVLC's dummy outputs (no sound card or "
        "display needed).")] = False,
    serial: Annotated[bool, typer.Option(
        "--serial", help="Put the VIP room's air conditioner on a simulated CoolMaster "
        "gateway and sand-table lights on a simulated DMX widget (serial ports).")] = False,
    log_level: Annotated[str, typer.Option(help="Logging level.")] = "error",
) -> None:
    """A whole VIP visit on simulated devices, in under half a minute, with a live timeline."""
    from rich.console import Console

    from controller.demo.broker import BrokerUnavailable
    from controller.demo.run import DemoOptions, demo_site, run_demo

    with exit_on_bad_input():
        site = load_site_file(demo_site())
        scene = load_scene_file(site)
        if mqtt is not None or prefix:
            with_broker(site, mqtt or site.mqtt.url, prefix)  # checked now; applied by the demo
        if manual and no_api:
            raise BadInput(["--manual: the visit is driven through the API; leave out --no-api"])
        if dummy_outputs and not real_media:
            raise BadInput(["--dummy-outputs: only with --real-media"])
    if real_media:
        from controller.demo.media import libvlc_problem

        problem = libvlc_problem()
        if problem is not None:
            print(f"error: --real-media: {problem}", file=sys.stderr)
            raise typer.Exit(EXIT_FAILED)
    configure_logging(log_level)
    options = DemoOptions(mqtt=mqtt, speed=speed, lead=lead, api=not no_api, prefix=prefix,
                          serial=serial,
                          manual=manual, real_media=real_media, dummy_outputs=dummy_outputs)
    try:
        code = asyncio.run(run_demo(site, scene, options, Console(highlight=False)))
    except BrokerUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise typer.Exit(EXIT_FAILED) from None
    except TimeoutError:
        print(f"error: the broker at {mqtt} did not let the simulators connect", file=sys.stderr)
        raise typer.Exit(EXIT_FAILED) from None
    # The process ends now: spare the interpreter's last collection of everything the run
    # made (the report's font tables among it), 0.6 s of the demo's wall time.
    gc.freeze()
    raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    app.command("run")(run)
    app.command("simulate")(simulate)
    app.command("demo")(demo)
