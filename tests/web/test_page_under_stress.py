"""The concierge page when a device fails, on a phone-sized Chromium over the real daemon,
broker and simulators: the failure in Chinese (and English) naming the device as the site
file does and saying what to do; the alert toast likewise, never covering the timeline; a
beep and a vibration. Screenshots under tests/artifacts/page-under-stress/ (gitignored).

A headless browser has no loudspeaker and no vibration motor: an init script counts the
oscillators the page starts (Web Audio itself is real) and records navigator.vibrate."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Locator, expect

from controller.api.server import ApiServer
from tests.api.harness import PASSWORDS, ApiSite, api_site, served
from tests.broker import Mosquitto
from tests.web.browser import phone, sign_in

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "page-under-stress"
AC_FAILED = ("VIP室空调没有响应（开启、制冷、24°C，已试3次）。"
             "请检查设备电源和网络；仍不行请联系工程部。")
RECORD = """
window.__vibrations = [];
navigator.vibrate = (pattern) => { window.__vibrations.push(pattern); return true; };
window.__beeps = 0;
const start = OscillatorNode.prototype.start;
OscillatorNode.prototype.start = function (...args) {
  window.__beeps += 1;
  return start.apply(this, args);
};
"""


@pytest.fixture
async def served_site(tmp_path: Path, mosquitto: Mosquitto, topic_prefix: str,
                      ) -> AsyncIterator[tuple[ApiSite, ApiServer]]:
    async with api_site(tmp_path, mosquitto, topic_prefix) as site, served(site) as server:
        yield site, server


async def apart(a: Locator, b: Locator) -> None:
    """The two boxes on the page do not overlap."""
    box_a, box_b = await a.bounding_box(), await b.bounding_box()
    assert box_a is not None and box_b is not None
    overlap_x = min(box_a["x"] + box_a["width"], box_b["x"] + box_b["width"]) - max(
        box_a["x"], box_b["x"])
    overlap_y = min(box_a["y"] + box_a["height"], box_b["y"] + box_b["height"]) - max(
        box_a["y"], box_b["y"])
    assert overlap_x <= 0 or overlap_y <= 0, (box_a, box_b)


async def test_a_failed_device_in_the_staff_words_with_a_beep(
        served_site: tuple[ApiSite, ApiServer]) -> None:
    site, server = served_site
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    site.rig.sims["vip_room_ac"].faults.ignore_commands = True
    async with phone(ARTIFACTS) as p:
        page = p.page
        await page.add_init_script(RECORD)
        await sign_in(page, server.url, "concierge", PASSWORDS["concierge"])

        # VIP now: the air conditioning is asked for at once, and never answers.
        await page.click("button[data-trigger=vip-now]")
        toast = page.locator("#toasts .toast.bad", has_text="VIP室空调")
        await expect(toast).to_have_text(f"告警：{AC_FAILED}", timeout=20_000)
        ac = page.locator("#devices li[data-device=vip_room_ac]")
        await expect(ac).to_have_class("bad")
        await expect(ac.locator(".failure")).to_contain_text(AC_FAILED)
        assert await page.evaluate("window.__beeps") >= 1
        assert await page.evaluate("window.__vibrations") == [[200, 100, 200]]

        # However many toasts, none covers the timeline (nor the buttons).
        await expect(page.locator("#timeline li").first).to_be_visible()
        toasts = page.locator("#toasts .toast")
        assert await toasts.count() >= 1
        for i in range(await toasts.count()):
            await apart(toasts.nth(i), page.locator("#timeline"))
            await apart(toasts.nth(i), page.locator("#buttons"))
        await page.locator("#timeline").scroll_into_view_if_needed()
        for i in range(await toasts.count()):
            await apart(toasts.nth(i), page.locator("#timeline"))
        await p.shot("device-failed")

        await page.click("#lang")
        await expect(ac.locator(".failure")).to_contain_text(
            "VIP室空调 did not respond (on, cool, 24 °C; 3 tries). Check its power and "
            "network; if that does not help, call engineering.")
        await p.shot("device-failed-english")
    print(f"\nscreenshots: {p.shots}")
