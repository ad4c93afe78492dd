"""`vipctl run`, `vipctl simulate` and `vipctl demo`: the commands that keep running.

Each loads and checks its files first (a bad file: every problem as file:line: field:
message on stderr, exit 2, nothing started), then runs until SIGTERM or SIGINT and shuts
down cleanly (exit 0).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import inspect
import logging
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import typer
from pydantic import ValidationError
from rich.console import Console

from controller.daemon import Daemon
from controller.site_config import DatabaseSettings, MqttSettings, SiteConfig, load_site
from devices.model import ATTRIBUTES
from devices.yamlconf import ConfigError
from scenes.loader import DEFAULT_SCENE, load_scene
from scenes.model import Scene

log = logging.getLogger(__name__)

# Exit statuses: a file that does not load (as check-config), and a run that failed.
EXIT_BAD_CONFIG = 2
EXIT_FAILED = 1
# The HTTP API's default address: loopback only, it has no authentication.
API_HOST, API_PORT = "127.0.0.1", 8765
LOG_LEVELS = ("debug", "info", "warning", "error")
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class BadInput(Exception):
    """A file or option that cannot be used; `problems` are printed one per line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@contextlib.contextmanager
def exit_on_bad_input() -> Iterator[None]:
    try:
        yield
    except BadInput as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        raise typer.Exit(EXIT_BAD_CONFIG) from None


# --- loading ------------------------------------------------------------------------------


def load_site_file(path: Path) -> SiteConfig:
    try:
        return load_site(path)
    except ConfigError as exc:
        raise BadInput([str(p) for p in exc.problems]) from None


def load_scene_for(site: SiteConfig, path: Path | None = None) -> Scene:
    """The scene (vipctl's own procedure by default), its targets checked against the site."""
    attributes: dict[str, frozenset[str]] = {
        device_id: ATTRIBUTES[spec.kind] for device_id, spec in site.devices.items()}
    for group, members in site.groups.items():
        # A group takes what all its members take.
        attributes[group] = frozenset.intersection(*(attributes[m] for m in members))
    try:
        return load_scene(path or DEFAULT_SCENE, known_targets=set(attributes),
                          target_attributes=attributes)
    except ConfigError as exc:
        raise BadInput([str(p) for p in exc.problems]) from None


def with_broker(site: SiteConfig, url: str | None, prefix: str | None) -> SiteConfig:
    """The site with another broker URL and/or topic prefix (checked as in the file)."""
    if url is None and prefix is None:
        return site
    data = site.mqtt.model_dump(exclude_unset=True, exclude={"status_topic"})
    data["status_topic"] = site.mqtt.status_topic
    for field in ("username", "password"):
        if data.get(f"{field}_env"):  # read from the environment again, not given twice
            data.pop(field, None)
    if url is not None:
        data["url"] = url
    if prefix is not None:
        data["topic_prefix"] = prefix
    try:
        mqtt = MqttSettings.model_validate(data)
    except ValidationError as exc:
        raise BadInput([_option_error(e) for e in exc.errors()]) from None
    return site.model_copy(update={"mqtt": mqtt})


def with_database(site: SiteConfig, url: str) -> SiteConfig:
    return site.model_copy(update={"database": DatabaseSettings.model_validate({"url": url})})


def _option_error(error: Any) -> str:
    field = ".".join(str(part) for part in error["loc"])
    option = {"url": "--mqtt", "topic_prefix": "--prefix"}.get(field, f"mqtt.{field}")
    return f"{option}: {error['msg'].removeprefix('Value error, ')}"


def broker_address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 1883


# --- running until a signal ---------------------------------------------------------------


def stop_on_signals(stop: asyncio.Event) -> None:
    """SIGTERM and SIGINT (Ctrl-C) set `stop`: the caller shuts down in order."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):  # not on Windows' proactor loop
            loop.add_signal_handler(sig, stop.set)


def configure_logging(level: str) -> None:
    logging.basicConfig(level=level.upper(), format=LOG_FORMAT, stream=sys.stderr)
    # APScheduler says at INFO every job added, removed, run and finished: four lines a
    # cue, formatted on the event loop as it fires. The event log says what ran and why.
    if logging.getLogger().level == logging.INFO:
        logging.getLogger("apscheduler").setLevel(logging.WARNING)


async def start_api(daemon: Daemon, host: str, port: int) -> Any | None:
    """THE call site of the HTTP API (controller/api.py: `serve_api(daemon, host, port)`).

    Looked up at run time so that `run` and `demo` work in a build without the API; returns
    None (and says so) when it is absent.
    """
    try:
        api = importlib.import_module("controller.api")
    except ModuleNotFoundError as exc:
        if exc.name != "controller.api":
            raise
        log.warning("this build has no HTTP API (controller/api.py); running without it")
        return None
    return await api.serve_api(daemon, host, port)


async def stop_api(server: Any | None) -> None:
    if server is None:
        return
    result = server.stop()
    if inspect.isawaitable(result):
        await result


async def run_daemon(site: SiteConfig, scene: Scene, *, speed: float, api: tuple[str, int] | None,
                     ) -> int:
    """Run until a signal; the exit status (1 when the API could not start)."""
    daemon = Daemon(site, scene, speed=speed)
    stop_on_signals(daemon.stopping)
    async with daemon:
        server = None
        if api is not None:
            try:
                server = await start_api(daemon, *api)
            except Exception as exc:  # e.g. the port is taken: say so, and stop what started
                print(f"error: the HTTP API did not start on {api[0]}:{api[1]}: {exc}",
                      file=sys.stderr)
                return EXIT_FAILED
        try:
            await daemon.stopping.wait()
            log.info("stopping")
        finally:
            await stop_api(server)
    return 0


# --- the commands -------------------------------------------------------------------------

ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="The site file (YAML).")]


def run(
    config: ConfigOption,
    scene: Annotated[Path | None, typer.Option(
        help="The scene file; default: the VIP reception procedure vipctl ships.")] = None,
    speed: Annotated[float, typer.Option(
        min=0.001, help="Run the procedure's clock this many times faster (tests, rehearsals)."
    )] = 1.0,
    api_host: Annotated[str, typer.Option(help="Address the HTTP API listens on.")] = API_HOST,
    api_port: Annotated[int, typer.Option(min=0, max=65535, help="0: no HTTP API.")] = API_PORT,
    log_level: Annotated[str, typer.Option(
        help=f"One of {', '.join(LOG_LEVELS)}.", case_sensitive=False)] = "info",
) -> None:
    """Run the daemon for a site until SIGTERM or Ctrl-C."""
    with exit_on_bad_input():
        if log_level.lower() not in LOG_LEVELS:
            raise BadInput([f"--log-level: {log_level!r} is not one of {', '.join(LOG_LEVELS)}"])
        site = load_site_file(config)
        the_scene = load_scene_for(site, scene)
    configure_logging(log_level)
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
    from controller.demo_simulate import simulate as run_simulators

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
        min=1.0, help="Procedure minutes per wall-clock minute (120: an hour in 30 s).")] = 120.0,
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
    """A whole VIP visit on simulated devices, in about a minute, with a live timeline."""
    from controller.broker import BrokerUnavailable
    from controller.demo import DemoOptions, demo_site, run_demo

    with exit_on_bad_input():
        site = load_site_file(demo_site())
        scene = load_scene_for(site)
        if mqtt is not None or prefix:
            with_broker(site, mqtt or site.mqtt.url, prefix)  # checked now; applied by the demo
        if manual and no_api:
            raise BadInput(["--manual: the visit is driven through the API; leave out --no-api"])
        if dummy_outputs and not real_media:
            raise BadInput(["--dummy-outputs: only with --real-media"])
    if real_media:
        from controller.demo_media import libvlc_problem

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
    raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    app.command("run")(run)
    app.command("simulate")(simulate)
    app.command("demo")(demo)
