"""The demo's visit, as the site's staff would play it: 王先生 booked a few seconds ahead,
the concierge button pressed for the arrival, the show flat and the departure, the model-area
lights switched off at the wall once (vipctl turns them back on: the P2 hold), then the
restore and a summary of what was done and said."""

from __future__ import annotations

import asyncio
import importlib
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from controller.config.site import SiteConfig
from controller.daemon import Daemon, teardown_of
from controller.demo import media as demo_media
from controller.demo.timeline import Timeline, compare_states, summarize
from controller.store.requests import VisitRequest
from devices.capabilities import attributes_of
from simulators.base import SimulatedDevice
from simulators.site import SiteSimulators
from simulators.tasmota import TasmotaLight
from simulators.vipctl_intercom import VipctlIntercomGateway
from simulators.zigbee2mqtt import Button
from simulators.zigbee2mqtt import Sensor as Zigbee2MqttSensor

S = TypeVar("S", bound=SimulatedDevice)

# The guest the demo books: 王先生, a party of three in a car with a Shanghai plate.
DEMO_GUEST: dict[str, Any] = {"surname": "王", "honorific": "先生", "full_name": "王建国",
                              "party_size": 3, "car_plate": "沪A·88888"}
# The procedure's clock, at speed 1: how long ahead the first cue is, how long a visit is.
PREPARATION = timedelta(minutes=45)
VISIT_LENGTH = timedelta(hours=1)
# When things happen during the visit, on the procedure's clock from its start.
ARRIVAL = timedelta(minutes=0)
LIGHTS_SWITCHED_OFF = timedelta(minutes=10)
WALK_IN = timedelta(minutes=15)
SHOW_FLAT = timedelta(minutes=20)
DEPARTURE = timedelta(minutes=55)
# Wall-clock seconds the restore may be late before the demo gives up on it.
RESTORE_SLACK_S = 15.0
# At most this long after the restore for queued announcements to be said (real speech).
SPEECH_DRAIN_S = 45.0
# At most this long for the timeline to print what the event log holds (it prints within
# milliseconds; the bound only keeps a stuck feed from holding the demo).
CATCH_UP_S = 2.0
# How long the simulated intercom speaks per character, on the procedure's clock: Mandarin
# text-to-speech says about four characters a second. Scaled by the speed like every other
# wait, so an announcement "takes" seconds of procedure time, not minutes of it.
SPEECH_PER_CHAR = timedelta(seconds=0.25)
# What the report at the end loads (matplotlib, WeasyPrint and its Pango: ~1.7 s on a small
# box), loaded while the visit mostly waits, instead of after it.
REPORT_MODULES = ("controller.reports.make", "weasyprint")
# A customer without a booking comes during the visit (P1): kept for a callback, which the
# 客户管家 books after the visit, for the next day.
WALK_IN_CUSTOMER: dict[str, Any] = {"surname": "赵", "honorific": "先生", "phone": "13900001111"}
CALLBACK_AFTER = timedelta(days=1)
# Devices of config/demo.yaml the script uses.
BUTTON, HELD_LIGHTS, INTERCOM, SPOTLIGHTS, RAIN_SENSOR = (
    "concierge_button", "model_area_lights", "staff_intercom", "spotlights", "outdoor_weather")


async def play_visit(daemon: Daemon, sims: SiteSimulators, timeline: Timeline, *, speed: float,
                     lead_s: float, manual: bool, real_media: bool, restored: asyncio.Event,
                     found: dict[str, dict[str, Any]]) -> bool:
    """Book the guest, press the button through the visit (unless `manual`), switch the
    model-area lights off once, wait for the restore, print the summary. True: all went well."""
    if not real_media:
        _sim(sims, INTERCOM, VipctlIntercomGateway).seconds_per_char = \
            SPEECH_PER_CHAR.total_seconds() / speed
    start = daemon.clock() + timedelta(seconds=lead_s)
    request = VisitRequest.model_validate(
        {**DEMO_GUEST, "start": start, "duration": VISIT_LENGTH / speed},
        context={"tz": daemon.tz})
    timeline.start, timeline.booked = request.start, daemon.clock()
    timeline.note(timeline.booked, f"booking {request.surname}{request.honorific} for "
                  f"{request.start:%H:%M:%S}; at x{speed:g} the 45-minute preparation takes "
                  f"{PREPARATION.total_seconds() / speed:.1f} s and the hour "
                  f"{VISIT_LENGTH.total_seconds() / speed:.1f} s")
    # It rains on the demo's guest: at start-10m the 礼宾 are told to hold umbrellas (F2).
    timeline.note(daemon.clock(), "it starts to rain: the rain sensor by the entrance reports "
                  "rain (Zigbee2MQTT, rain: true)")
    await _sim(sims, RAIN_SENSOR, Zigbee2MqttSensor).set_reading(rain=True)
    visit = await daemon.engine.book_visit(request, source="demo")

    button, lights = _sim(sims, BUTTON, Button), _sim(sims, HELD_LIGHTS, TasmotaLight)
    steps: list[tuple[timedelta, str, Callable[[], Awaitable[None]]]] = [
        (ARRIVAL, "the guard presses the concierge button once (Zigbee2MQTT action "
         "'single' = arrival)", lambda: button.press("single")),
        (LIGHTS_SWITCHED_OFF, "someone switches the model-area lights off at the wall",
         lambda: lights.change_locally({"power": False})),
        (WALK_IN, "a customer walks in: the concierge reads the polite words on the page, "
         "hands over the brochure and keeps his number for a callback (来访客户)",
         lambda: _walk_in(daemon, start + CALLBACK_AFTER)),
        (SHOW_FLAT, "the concierge double-presses the button ('double' = to the show flat)",
         lambda: button.press("double")),
        (DEPARTURE, "the concierge holds the button down ('hold' = leaving)",
         lambda: button.press("hold")),
    ]
    if manual:
        # The visitor drives: the demo waits for the restore after their departure press
        # (or after the no-show at the booked end, if nobody presses arrival).
        timeline.note(daemon.clock(), "your turn: press 已到访, 参观样板房 and 离开 on the page "
                      "(or `vipctl trigger arrival` ...); the demo ends with the restore")
        await restored.wait()
        steps = []
    for offset, what, act in steps:
        await _sleep_until(daemon, visit.start + offset / speed)
        await timeline.caught_up(daemon.events, CATCH_UP_S)  # what came before, first
        timeline.note(daemon.clock(), what)
        await act()

    restore_due = (DEPARTURE + teardown_of(daemon.scene)) / speed
    wait = (visit.start + restore_due - daemon.clock()).total_seconds() + RESTORE_SLACK_S
    try:
        await asyncio.wait_for(restored.wait(), max(wait, RESTORE_SLACK_S))
    except TimeoutError:
        timeline.note(daemon.clock(), "the restore did not come")
    # The announcements may still be queued (spoken for real, they take seconds each): let
    # them be said, the 客户管家 told of the callbacks, before the callback and the summary
    # (bounded, so the demo always ends).
    await daemon.announcer.wait_idle(SPEECH_DRAIN_S)
    await timeline.caught_up(daemon.events, CATCH_UP_S)
    if not manual:
        await _call_back(daemon, timeline)
    await timeline.caught_up(daemon.events, CATCH_UP_S)

    events = list(reversed(daemon.events.query(limit=1000)))
    said = demo_media.played(daemon) if real_media else \
        _sim(sims, INTERCOM, VipctlIntercomGateway).spoken_texts()
    status = daemon.book.get(visit.id).status
    baseline = {device.id: entry.description or "the scene's baseline"
                for entry in daemon.scene.baseline
                for device in daemon.registry.resolve(entry.target)}
    changed = compare_states(found, states(sims, daemon.site), baseline)
    ok = summarize(events, said=said, console=timeline.console, spotlights=SPOTLIGHTS,
                   visit_status=f"{visit.salutation} ({visit.id}), {status.value}",
                   left_changed=changed)
    if real_media:
        for line in demo_media.report(daemon):
            timeline.console.print(f"  {line}", soft_wrap=True)
    write_report(daemon, visit.id, timeline)
    return ok and status.value == "done"


async def _walk_in(daemon: Daemon, preferred: datetime) -> None:
    await daemon.walk_ins.record(source="demo", preferred=preferred, **WALK_IN_CUSTOMER)


async def _call_back(daemon: Daemon, timeline: Timeline) -> None:
    """The 客户管家, told after the visit, books each callback at its preferred time."""
    for walk_in in daemon.walk_ins.book.waiting():
        timeline.note(daemon.clock(), f"the 客户管家 calls {walk_in.salutation} back and "
                      "books the viewing in one tap")
        await daemon.walk_ins.book_callback(walk_in.id, source="demo")


def load_report_modules() -> None:
    """Import what the report needs; for a worker thread while the visit runs. A missing
    Pango is the report's to say (controller/reports/pdf.py), not the loader's."""
    for name in REPORT_MODULES:
        try:
            importlib.import_module(name)
        except (ImportError, OSError):
            continue


def write_report(daemon: Daemon, visit_id: str, timeline: Timeline) -> None:
    """The visit's report (controller/reports), as `vipctl report visit` writes it. On the
    loop, at the very end: nothing is left for the daemon to do meanwhile."""
    from controller.reports.make import write_visit_report  # loaded meanwhile: load_report_modules

    began = time.monotonic()
    folder = daemon.site.reports.folder
    assert folder is not None  # filled in when the site file is loaded
    written = write_visit_report(daemon.db, visit_id, folder=folder, tz=daemon.tz,
                                 site_name=daemon.site.site.name)
    took = time.monotonic() - began
    timeline.console.print(f"report of the visit ({took:.1f} s): {written.html}", soft_wrap=True)
    if written.pdf is not None:
        timeline.console.print(f"  PDF: {written.pdf}", soft_wrap=True)
    else:
        timeline.console.print(f"  {written.pdf_problem}", soft_wrap=True)


def _sim(sims: SiteSimulators, device_id: str, kind: type[S]) -> S:
    """A simulator of the demo site, as the class the script drives it through."""
    sim = sims[device_id]
    if not isinstance(sim, kind):
        raise TypeError(f"{device_id} is a {type(sim).__name__}, not a {kind.__name__}")
    return sim


def states(sims: SiteSimulators, site: SiteConfig) -> dict[str, dict[str, Any]]:
    """What each simulated device is, in the attributes vipctl can set on its kind."""
    return {device_id: {k: v for k, v in sim.state.items()
                        if k in attributes_of(site.devices[device_id].kind)}
            for device_id, sim in sims.devices.items()}


async def _sleep_until(daemon: Daemon, when: datetime) -> None:
    await asyncio.sleep(max(0.0, (when - daemon.clock()).total_seconds()))


