"""vipctl in a real Home Assistant (Core 2024.3.3, headless, its MQTT integration on the
test's Mosquitto): the entities exist and show vipctl's state, and pressing HA's button
(its REST `button/press` service, as a tap in its UI does) makes the intercom simulator
speak. About 20 s; VIPCTL_SKIP_HA=1 skips it (README, "Home Assistant").

VIPCTL_HA_SCREENSHOT=docs/homeassistant-device.png also saves HA's device page, signed in
as the onboarded owner (Debian's chromium through Playwright; the README's picture).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import async_playwright

from tests.broker import Mosquitto
from tests.homeassistant.conftest import ha_site_extra
from tests.homeassistant.hass import Hass, home_assistant
from tests.scenario.rig import SAID_FOR_WANG, site_rig
from tests.waiting import eventually
from tests.web.browser import ARGS, CHROMIUM

pytestmark = [pytest.mark.homeassistant, pytest.mark.timeout(300)]

ARRIVED = "王先生已到访,请各岗位做好接待工作"
# Entity ids: each config's object_id (controller/homeassistant/discovery.py).
ARRIVAL = "button.vipctl_demo_arrival"
GUEST = "sensor.vipctl_demo_guest"
STATUS = "sensor.vipctl_demo_status"
NEXT = "sensor.vipctl_demo_next_start"
ENGAGED = "binary_sensor.vipctl_demo_engaged"
ANNOUNCEMENT = "event.vipctl_demo_announcement"
PROBLEMS = "sensor.vipctl_demo_device_problems"
ENTITIES = [ARRIVAL, "button.vipctl_demo_show_flat", "button.vipctl_demo_departure",
            "button.vipctl_demo_vip_now", GUEST, STATUS, NEXT,
            "sensor.vipctl_demo_minutes_to_next", PROBLEMS, ENGAGED, ANNOUNCEMENT]
# Home Assistant reads MQTT as it comes; under load a state takes a moment to show.
SHOWS_S = 30.0


def value(hass: Hass, entity_id: str) -> str | None:
    state = hass.state(entity_id)
    return None if state is None else str(state["state"])


def attributes(hass: Hass, entity_id: str) -> dict[str, Any]:
    state = hass.state(entity_id)
    return {} if state is None else dict(state["attributes"])


async def test_vipctl_is_a_device_in_home_assistant_and_its_button_speaks(
        tmp_path: Path, ha_python: Path, own_mosquitto: Mosquitto, topic_prefix: str) -> None:
    with home_assistant(ha_python, tmp_path / "ha", own_mosquitto) as (hass, tokens):
        async with site_rig(tmp_path, own_mosquitto, topic_prefix,
                            extra=ha_site_extra("homeassistant")) as rig:
            # Every entity, available (vipctl's status topic says online), on one device.
            # (Next visit is unavailable while no visit is booked.)
            await eventually(lambda: all(value(hass, e) not in (None, "unavailable")
                                         for e in ENTITIES if e != NEXT), SHOWS_S)
            assert value(hass, NEXT) == "unavailable"
            devices = {hass.template(f"{{{{ device_id('{e}') }}}}") for e in ENTITIES}
            assert len(devices) == 1
            device_id = devices.pop()
            assert hass.template(f"{{{{ device_attr('{device_id}', 'name') }}}}") == \
                f"vipctl {rig.site.site.name}"
            assert value(hass, GUEST) == "" and value(hass, STATUS) == "idle"
            assert value(hass, ENGAGED) == "off"

            later = await rig.book(in_seconds=86400, surname="李", honorific="女士")
            await eventually(lambda: value(hass, NEXT) not in (None, "unavailable"), SHOWS_S)
            assert abs(float(hass.template(f"{{{{ as_timestamp(states('{NEXT}')) }}}}"))
                       - later.start.timestamp()) < 1
            await rig.book(in_seconds=3)  # half an hour ahead, at x600
            await eventually(lambda: value(hass, STATUS) == "preparing", SHOWS_S)
            # The reminders (P5, P6, P7) said first, so that the arrival's is the last event.
            await eventually(lambda: sorted(rig.said()) == sorted(SAID_FOR_WANG[:3]), SHOWS_S)

            # A tap on Home Assistant's Arrival button.
            hass.call("button", "press", entity_id=ARRIVAL)
            await eventually(lambda: ARRIVED in rig.said())
            triggers = rig.daemon.events.query(kinds=["trigger"], limit=10)
            assert [(e.source, e.detail["trigger"], e.result) for e in triggers] == [
                ("homeassistant", "arrival", "ok")]
            await eventually(lambda: value(hass, GUEST) == "王先生", SHOWS_S)
            await eventually(lambda: value(hass, ENGAGED) == "on", SHOWS_S)
            assert value(hass, STATUS) == "arrived"
            assert attributes(hass, GUEST)["party_size"] == 1
            await eventually(lambda: attributes(hass, ANNOUNCEMENT).get("event_type")
                             == "f1-arrival", SHOWS_S)
            assert attributes(hass, ANNOUNCEMENT)["text"] == ARRIVED
            assert value(hass, PROBLEMS) == "0"

            if os.environ.get("VIPCTL_HA_SCREENSHOT"):
                await screenshot(hass, tokens, device_id,
                                 Path(os.environ["VIPCTL_HA_SCREENSHOT"]))

        # vipctl stopped: its "offline" makes every entity unavailable.
        await eventually(lambda: value(hass, ARRIVAL) == "unavailable", SHOWS_S)
        assert value(hass, GUEST) == "unavailable"



async def screenshot(hass: Hass, tokens: dict[str, Any], device_id: str, path: Path) -> None:
    """HA's device page, signed in as the owner: the frontend's stored tokens."""
    stored = {**tokens, "hassUrl": hass.url, "clientId": f"{hass.url}/",
              "expires": int(time.time() * 1000) + tokens["expires_in"] * 1000}
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 1000},
                                          locale="en-US", timezone_id="Asia/Shanghai")
            await page.add_init_script(
                f"window.localStorage.setItem('hassTokens', {json.dumps(json.dumps(stored))})")
            await page.goto(f"{hass.url}/config/devices/device/{device_id}")
            await page.get_by_text("VIP visit engaged").first.wait_for(timeout=30_000)
            await page.wait_for_timeout(2000)  # the cards' icons and the last values
            path.parent.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(path))
        finally:
            await browser.close()
