"""`vipctl demo`: a whole VIP visit on simulated devices, in under half a minute.

In one process: an embedded MQTT broker (unless --mqtt), a simulator for every device of
config/demo.yaml, and the daemon with a throw-away SQLite database. It books a guest a few
seconds ahead at a speed factor, so that T-45 comes almost at once; the guard presses the
concierge button (a real Zigbee2MQTT action over MQTT) for the arrival, the show flat and the
departure; half-way through, someone switches the model-area lights off at the wall and
vipctl turns them back on (the P2 hold). The timeline is printed live from the event log,
then a summary. Everything started is stopped before it returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import tempfile
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from common.tasks import cancel_and_wait
from controller.api.server import DEFAULT_HOST, DEFAULT_PORT, ApiError, serve_api
from controller.auth.credentials import TOKEN_ENV, AuthError, hash_password, new_token
from controller.auth.settings import AuthSettings
from controller.config.overrides import with_broker, with_database
from controller.config.site import ReportSettings, SiteConfig
from controller.daemon import Daemon
from controller.demo import DEFAULT_SPEED
from controller.demo import media as demo_media
from controller.demo import serial as demo_serial
from controller.demo.broker import EmbeddedBroker
from controller.demo.script import PREPARATION, load_report_modules, play_visit, states
from controller.demo.timeline import Timeline
from controller.lifecycle import stop_on_signals
from controller.store.events import Subscription
from scenes.model import Scene
from simulators.site import SiteSimulators

# The demo site: package data, so that a wheel's `vipctl demo` finds it (config/demo.yaml in
# a clone is a link to it, for the commands the README shows).
DEMO_SITE = Path(__file__).with_name("demo_site.yaml")
# Wall-clock seconds between booking and T-45, so that the start-up shows before the cues.
LEAD_MARGIN_S = 1.0
# How long stopped tasks get to finish before they count as left running.
STRAY_WAIT_S = 1.0
# The exit status after Ctrl-C or SIGTERM (128 + SIGINT, as shells report it).
EXIT_INTERRUPTED = 130
# Where the demo writes its visit's report (the demo's own folder goes when it ends).
REPORTS = Path(tempfile.gettempdir()) / "vipctl-demo-reports"
# The page's login during the demo; the password is new every run.
DEMO_USER = "demo"
PASSWORD_LETTERS = "abcdefghjkmnpqrstuvwxyz23456789"  # nothing to mistake for another



@dataclass(frozen=True, slots=True)
class DemoOptions:
    mqtt: str | None = None  # None: the embedded broker
    speed: float = DEFAULT_SPEED
    lead: float | None = None  # seconds from booking to the visit's start; None: just after T-45
    api: bool = True
    prefix: str = ""
    manual: bool = False  # the presses are left to the page (or the CLI)
    serial: bool = False  # the VIP room's AC on CoolMaster, sand-table lights on DMX
    real_media: bool = False  # music, video and intercom through libVLC and espeak-ng
    dummy_outputs: bool = False  # with real_media: libVLC's dummy outputs (no sound, no screen)

    def lead_s(self) -> float:
        if self.lead is not None:
            return self.lead
        return PREPARATION.total_seconds() / self.speed + LEAD_MARGIN_S


def demo_site() -> Path:
    return DEMO_SITE


async def run_demo(site: SiteConfig, scene: Scene, options: DemoOptions, console: Console) -> int:
    """Run the demo; the exit status: 0 when the visit ran through without a failure."""
    async with contextlib.AsyncExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="vipctl-demo-")))
        url = options.mqtt
        if url is None:
            broker = EmbeddedBroker()
            stack.push_async_callback(broker.stop)
            await broker.start()
            url = broker.url
            console.print(f"MQTT broker: embedded (amqtt, MQTT 3.1.1) on {url}")
        else:
            console.print(f"MQTT broker: {url}")
        site = with_database(with_broker(site, url, options.prefix or None),
                             f"sqlite:///{tmp / 'vipctl.db'}")
        site, login = with_demo_login(site)
        if options.real_media:  # controller/demo/media.py
            demo_media.make_media(tmp)
            site = demo_media.with_real_media(site, tmp, dummy=options.dummy_outputs)
            outputs = "dummy outputs" if options.dummy_outputs else "this machine's outputs"
            console.print(f"media: played by the daemon (libVLC, espeak-ng; {outputs})")
        if options.serial:  # controller/demo/serial.py
            site, serial_sims = demo_serial.with_serial_devices(site, tmp)
            stack.push_async_callback(serial_sims.stop)
            await serial_sims.start()
            console.print(demo_serial.describe(serial_sims), soft_wrap=True)
        host, port, _ = site.mqtt.connection
        sims = SiteSimulators(demo_serial.simulated(demo_media.simulated(site)), host=host,
                              port=port,
                              topic_prefix=site.mqtt.topic_prefix)
        stack.push_async_callback(sims.stop)  # before start: a partial start is stopped too
        await sims.start()
        found = states(sims, site)
        console.print(f"simulators: {len(sims.devices)} devices of {site.site.name} "
                      f"({', '.join(sims.devices)})", soft_wrap=True)

        # The visit's report outlives the demo's folder (the API serves it meanwhile).
        site = site.model_copy(update={"reports": ReportSettings(folder=REPORTS)})
        daemon = Daemon(site, scene, speed=options.speed)
        timeline = Timeline(console, tz=daemon.tz, speed=options.speed, began=daemon.clock())
        feed = daemon.events.subscribe(maxsize=10_000)
        stack.callback(feed.close)
        restored = asyncio.Event()
        printer = asyncio.create_task(_print(feed, timeline, restored), name="demo:timeline")
        stack.push_async_callback(cancel_and_wait, printer)
        stack.push_async_callback(daemon.stop)
        timeline.header()
        await daemon.start()
        if options.api:
            await _start_api(daemon, timeline, stack, login)
        # In a worker thread while the visit mostly waits, rather than after it.
        loader = asyncio.create_task(asyncio.to_thread(load_report_modules),
                                     name="demo:report-modules")
        stack.push_async_callback(cancel_and_wait, loader)
        ok = await _until_signalled(
            play_visit(daemon, sims, timeline, speed=options.speed, lead_s=options.lead_s(),
                       manual=options.manual, real_media=options.real_media,
                       restored=restored, found=found),
            lambda: timeline.note(daemon.clock(), "interrupted: stopping everything"))
    stopped = ["daemon", "simulators"] + (["broker"] if options.mqtt is None else [])
    clean = await _nothing_left(console, stopped)
    if ok is None:
        return EXIT_INTERRUPTED
    return 0 if ok and clean else 1


async def _until_signalled(work: Coroutine[Any, Any, bool], on_signal: Callable[[], None],
                           ) -> bool | None:
    """`work`'s result, or None when SIGINT/SIGTERM came first (and `work` was cancelled)."""
    stop = asyncio.Event()
    stop_on_signals(stop)
    task = asyncio.create_task(work, name="demo:script")
    stopper = asyncio.create_task(stop.wait(), name="demo:signals")
    await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        await cancel_and_wait(stopper)
        return task.result()
    on_signal()
    await cancel_and_wait(task)
    return None


@dataclass(frozen=True, slots=True)
class DemoLogin:
    password: str  # for DEMO_USER on the page
    token: str  # for the CLI, in VIPCTL_API_TOKEN


def with_demo_login(site: SiteConfig) -> tuple[SiteConfig, DemoLogin]:
    """The site with credentials for this run only: DEMO_USER's password and a CLI token."""
    password = "-".join("".join(secrets.choice(PASSWORD_LETTERS) for _ in range(4))
                        for _ in range(2))
    token, _ = new_token()
    auth = AuthSettings.model_validate({
        "users": {DEMO_USER: {"role": "admin", "password_hash": hash_password(password)}},
        "tokens": [{"name": "demo-cli", "role": "admin", "token": token}]})
    return site.model_copy(update={"auth": auth}), DemoLogin(password, token)


async def _start_api(daemon: Daemon, timeline: Timeline, stack: contextlib.AsyncExitStack,
                     login: DemoLogin) -> None:
    """The HTTP API on 8765 (where the CLI looks) if free, else on any free port. Binding
    is the test: a port looked at and found free may be taken before it is bound."""
    try:
        try:
            server = await serve_api(daemon, DEFAULT_HOST, DEFAULT_PORT)
        except ApiError:  # 8765 is taken (another demo, a daemon): any port will do
            server = await serve_api(daemon, DEFAULT_HOST, 0)
    except (ApiError, AuthError) as exc:  # the demo goes on without it
        timeline.note(daemon.clock(), f"no HTTP API: {exc}")
        return
    stack.push_async_callback(server.stop)
    timeline.note(daemon.clock(), f"HTTP API on {server.url} (docs: /docs)")
    timeline.note(daemon.clock(), f"the concierge page: {server.url}/ "
                  f"(sign in as {DEMO_USER}, password {login.password}; this run only)")
    timeline.note(daemon.clock(), f"the CLI: export {TOKEN_ENV}={login.token}")


async def _print(feed: Subscription, timeline: Timeline, restored: asyncio.Event) -> None:
    async for event in feed:
        timeline.event(event)
        if event.kind == "restore":
            restored.set()





async def _nothing_left(console: Console, stopped: list[str]) -> bool:
    """True when no task but ours and no thread but the main one is still running."""
    me = asyncio.current_task()
    loop = asyncio.get_running_loop()
    # Idle workers of the loop's default executor (aiomqtt resolves and connects there):
    # asyncio.run would join them on exit anyway; joined now, they do not count as left over.
    await loop.shutdown_default_executor()
    deadline = loop.time() + STRAY_WAIT_S
    while True:
        tasks = [t for t in asyncio.all_tasks() if t is not me and not t.done()]
        threads = [t for t in threading.enumerate() if t is not threading.main_thread()]
        if (not tasks and not threads) or loop.time() > deadline:
            break
        await asyncio.sleep(0.05)
    for t in tasks:
        console.print(f"[red]left running: task {t.get_name()} {t.get_coro()!r}[/red]")
    for th in threads:
        console.print(f"[red]left running: thread {th.name}[/red]")
    if not tasks and not threads:
        console.print(f"stopped: {', '.join(stopped)}; nothing left running")
    return not tasks and not threads
