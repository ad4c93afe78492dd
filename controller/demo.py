"""`vipctl demo`: a whole VIP visit on simulated devices, in about a minute.

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
import socket
import tempfile
import threading
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from rich.console import Console

import controller
from controller import demo_media, demo_serial
from controller.auth import TOKEN_ENV, hash_password, new_token
from controller.auth_config import AuthSettings
from controller.broker import EmbeddedBroker
from controller.cli_run import (
    API_HOST,
    API_PORT,
    start_api,
    stop_api,
    stop_on_signals,
    with_broker,
    with_database,
)
from controller.daemon import Daemon, teardown_of
from controller.demo_timeline import Timeline, compare_states, summarize
from controller.events import Subscription
from controller.site_config import SiteConfig
from controller.visits import VisitRequest
from devices.model import ATTRIBUTES
from scenes.model import Scene
from simulators.base import SimulatedDevice
from simulators.site import SiteSimulators
from simulators.tasmota import TasmotaLight
from simulators.vipctl_intercom import VipctlIntercomGateway
from simulators.zigbee2mqtt import Button

S = TypeVar("S", bound=SimulatedDevice)

# The demo site. It lives in the source tree next to the packages (an editable install or a
# clone); a wheel does not ship config/, see docs/demo.md.
DEMO_SITE = Path(controller.__file__).resolve().parents[1] / "config" / "demo.yaml"
# The guest the demo books: 王先生, a party of three in a car with a Shanghai plate.
DEMO_GUEST: dict[str, Any] = {"surname": "王", "honorific": "先生", "full_name": "王建国",
                              "party_size": 3, "car_plate": "沪A·88888"}
# The procedure's clock, at speed 1: how long ahead the first cue is, how long a visit is.
PREPARATION = timedelta(minutes=45)
VISIT_LENGTH = timedelta(hours=1)
# Wall-clock seconds between booking and T-45, so that the start-up shows before the cues.
LEAD_MARGIN_S = 3.0
# When things happen during the visit, on the procedure's clock from its start.
ARRIVAL = timedelta(minutes=0)
LIGHTS_SWITCHED_OFF = timedelta(minutes=10)
SHOW_FLAT = timedelta(minutes=20)
DEPARTURE = timedelta(minutes=55)
# Wall-clock seconds the restore may be late before the demo gives up on it.
RESTORE_SLACK_S = 15.0
# Wall-clock seconds for confirmations still in flight after the restore.
SETTLE_S = 0.5
# At most this long after the restore for queued announcements to be said (real speech).
SPEECH_DRAIN_S = 45.0
# How long stopped tasks get to finish before they count as left running.
STRAY_WAIT_S = 1.0
# The exit status after Ctrl-C or SIGTERM (128 + SIGINT, as shells report it).
EXIT_INTERRUPTED = 130
# The page's login during the demo; the password is new every run.
DEMO_USER = "demo"
PASSWORD_LETTERS = "abcdefghjkmnpqrstuvwxyz23456789"  # nothing to mistake for another
# Devices of config/demo.yaml the script uses.
BUTTON, HELD_LIGHTS, INTERCOM, SPOTLIGHTS = (
    "concierge_button", "model_area_lights", "staff_intercom", "spotlights")


@dataclass(frozen=True, slots=True)
class DemoOptions:
    mqtt: str | None = None  # None: the embedded broker
    speed: float = 120.0
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


def free_port(preferred: int) -> int:
    """`preferred` if nothing listens there, else any free loopback port."""
    for port in (preferred, 0):
        with socket.socket() as s:
            try:
                s.bind((API_HOST, port))
            except OSError:
                continue
            return int(s.getsockname()[1])
    raise OSError("no free port")


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
        if options.real_media:  # controller/demo_media.py
            demo_media.make_media(tmp)
            site = demo_media.with_real_media(site, tmp, dummy=options.dummy_outputs)
            outputs = "dummy outputs" if options.dummy_outputs else "this machine's outputs"
            console.print(f"media: played by the daemon (libVLC, espeak-ng; {outputs})")
        if options.serial:  # controller/demo_serial.py
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
        found = _states(sims, site)
        console.print(f"simulators: {len(sims.devices)} devices of {site.site.name} "
                      f"({', '.join(sims.devices)})", soft_wrap=True)

        daemon = Daemon(site, scene, speed=options.speed)
        timeline = Timeline(console, tz=daemon.tz, speed=options.speed, began=daemon.clock())
        feed = daemon.events.subscribe(maxsize=10_000)
        stack.callback(feed.close)
        restored = asyncio.Event()
        printer = asyncio.create_task(_print(feed, timeline, restored), name="demo:timeline")
        stack.push_async_callback(_cancel, printer)
        stack.push_async_callback(daemon.stop)
        timeline.header()
        await daemon.start()
        if options.api:
            await _start_api(daemon, timeline, stack, login)
        ok = await _until_signalled(
            _script(daemon, sims, timeline, options, restored, found),
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
        await _cancel(stopper)
        return task.result()
    on_signal()
    await _cancel(task)
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
    """The HTTP API on 8765 (where the CLI looks) if free, else on any free port."""
    try:
        server = await start_api(daemon, API_HOST, free_port(API_PORT))
    except Exception as exc:  # the demo goes on without it
        timeline.note(daemon.clock(), f"no HTTP API: {exc}")
        return
    stack.push_async_callback(stop_api, server)
    if server is not None:
        port = getattr(server, "port", API_PORT)
        timeline.note(daemon.clock(), f"HTTP API on http://{API_HOST}:{port} (docs: /docs)")
        timeline.note(daemon.clock(), f"the concierge page: http://{API_HOST}:{port}/ "
                      f"(sign in as {DEMO_USER}, password {login.password}; this run only)")
        timeline.note(daemon.clock(), f"the CLI: export {TOKEN_ENV}={login.token}")


async def _print(feed: Subscription, timeline: Timeline, restored: asyncio.Event) -> None:
    async for event in feed:
        timeline.event(event)
        if event.kind == "restore":
            restored.set()


async def _cancel(task: asyncio.Task[Any]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _script(daemon: Daemon, sims: SiteSimulators, timeline: Timeline,
                  options: DemoOptions, restored: asyncio.Event,
                  found: dict[str, dict[str, Any]]) -> bool:
    speed = options.speed
    start = daemon.clock() + timedelta(seconds=options.lead_s())
    request = VisitRequest.model_validate(
        {**DEMO_GUEST, "start": start, "duration": VISIT_LENGTH / speed},
        context={"tz": daemon.tz})
    timeline.start, timeline.booked = request.start, daemon.clock()
    timeline.note(timeline.booked, f"booking {request.surname}{request.honorific} for "
                  f"{request.start:%H:%M:%S}; at x{speed:g} the 45-minute preparation takes "
                  f"{PREPARATION.total_seconds() / speed:.1f} s and the hour "
                  f"{VISIT_LENGTH.total_seconds() / speed:.1f} s")
    visit = await daemon.engine.book_visit(request, source="demo")

    button, lights = _sim(sims, BUTTON, Button), _sim(sims, HELD_LIGHTS, TasmotaLight)
    steps: list[tuple[timedelta, str, Callable[[], Awaitable[None]]]] = [
        (ARRIVAL, "the guard presses the concierge button once (Zigbee2MQTT action "
         "'single' = arrival)", lambda: button.press("single")),
        (LIGHTS_SWITCHED_OFF, "someone switches the model-area lights off at the wall",
         lambda: lights.change_locally({"power": False})),
        (SHOW_FLAT, "the concierge double-presses the button ('double' = to the show flat)",
         lambda: button.press("double")),
        (DEPARTURE, "the concierge holds the button down ('hold' = leaving)",
         lambda: button.press("hold")),
    ]
    if options.manual:
        # The visitor drives: the demo waits for the restore after their departure press
        # (or after the no-show at the booked end, if nobody presses arrival).
        timeline.note(daemon.clock(), "your turn: press 已到访, 参观样板房 and 离开 on the page "
                      "(or `vipctl trigger arrival` ...); the demo ends with the restore")
        await restored.wait()
        steps = []
    for offset, what, act in steps:
        await _sleep_until(daemon, visit.start + offset / speed)
        timeline.note(daemon.clock(), what)
        await act()

    restore_due = (DEPARTURE + teardown_of(daemon.scene)) / speed
    wait = (visit.start + restore_due - daemon.clock()).total_seconds() + RESTORE_SLACK_S
    try:
        await asyncio.wait_for(restored.wait(), max(wait, RESTORE_SLACK_S))
    except TimeoutError:
        timeline.note(daemon.clock(), "the restore did not come")
    # Spoken for real, the announcements take seconds each and may still be queued: let
    # them be said before the summary (bounded, so the demo always ends).
    await daemon.executor.announcer.wait_idle(SPEECH_DRAIN_S)
    await asyncio.sleep(SETTLE_S)

    events = list(reversed(daemon.events.query(limit=1000)))
    said = demo_media.played(daemon) if options.real_media else \
        _sim(sims, INTERCOM, VipctlIntercomGateway).spoken_texts()
    status = daemon.book.get(visit.id).status
    baseline = {device.id: entry.description or "the scene's baseline"
                for entry in daemon.scene.baseline
                for device in daemon.registry.resolve(entry.target)}
    changed = compare_states(found, _states(sims, daemon.site), baseline)
    ok = summarize(events, said=said, console=timeline.console, spotlights=SPOTLIGHTS,
                   visit_status=f"{visit.salutation} ({visit.id}), {status.value}",
                   left_changed=changed)
    if options.real_media:
        for line in demo_media.report(daemon):
            timeline.console.print(f"  {line}", soft_wrap=True)
    return ok and status.value == "done"


def _sim(sims: SiteSimulators, device_id: str, kind: type[S]) -> S:
    """A simulator of the demo site, as the class the script drives it through."""
    sim = sims[device_id]
    if not isinstance(sim, kind):
        raise TypeError(f"{device_id} is a {type(sim).__name__}, not a {kind.__name__}")
    return sim


def _states(sims: SiteSimulators, site: SiteConfig) -> dict[str, dict[str, Any]]:
    """What each simulated device is, in the attributes vipctl can set on its kind."""
    return {device_id: {k: v for k, v in sim.state.items()
                        if k in ATTRIBUTES[site.devices[device_id].kind]}
            for device_id, sim in sims.devices.items()}


async def _sleep_until(daemon: Daemon, when: datetime) -> None:
    await asyncio.sleep(max(0.0, (when - daemon.clock()).total_seconds()))


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
