"""The head-office page in Chromium: two sites live, on a phone and on a desk screen, in
Chinese and English; a booking refused with the next free start, then booked at it; a viewer
sees everything and gets no booking form."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.async_api import expect

from tests.api.harness import PASSWORDS
from tests.broker import Mosquitto
from tests.hq.harness import hq_file, new_database, running_hq
from tests.hq_site import sites, snapshot
from tests.postgres import Postgres
from tests.web.browser import phone, sign_in

pytestmark = pytest.mark.xdist_group("postgresql")


async def test_two_sites_live_and_a_booking_at_the_next_free_start(
        tmp_path: Path, mosquitto: Mosquitto, postgres: Postgres, topic_prefix: str) -> None:
    path = hq_file(tmp_path, mosquitto, new_database(postgres), topic_prefix)
    now = datetime.now(UTC)
    taken = (now + timedelta(days=1)).replace(hour=6, minute=0, second=0, microsecond=0)
    async with running_hq(path) as running, phone(tmp_path) as p, \
            sites(mosquitto.host, mosquitto.port, ["binjiang", "xihu"],
                  prefix=topic_prefix) as (one, two):
        one.visits = [snapshot("王", now - timedelta(minutes=5)), snapshot("赵", taken)]
        await one.send_summary()
        await one.send_link(True)
        await two.send_summary(at=now - timedelta(minutes=7))
        await two.send_link(False)
        page = p.page
        await sign_in(page, running.server.url, "concierge", PASSWORDS["concierge"])
        binjiang = page.locator("#sites li[data-site=binjiang]")
        xihu = page.locator("#sites li[data-site=xihu]")
        await expect(binjiang).to_contain_text("滨江壹号")
        await expect(binjiang).to_contain_text("当前：王先生")
        await expect(binjiang).to_contain_text("链路正常")
        await expect(xihu).to_contain_text("已 7 分钟没有消息")
        await expect(xihu).to_contain_text("链路中断")
        await p.shot("two-sites")

        # Live: xihu comes back with a guest; the page shows it without a reload.
        two.visits = [snapshot("陈", datetime.now(UTC) - timedelta(minutes=1),
                               honorific="女士")]
        await two.send_summary()
        await two.send_link(True)
        await expect(xihu).to_contain_text("当前：陈女士")
        await expect(xihu).not_to_contain_text("分钟没有消息")

        form = page.locator("#book-form")
        await form.locator("[name=site]").select_option("binjiang")
        await form.locator("[name=surname]").fill("李")
        await form.locator("[name=start]").fill(taken.strftime("%Y-%m-%dT%H:%M"))
        await form.locator("button[type=submit]").click()
        booking = page.locator("#booking")
        await expect(booking).to_have_attribute("data-state", "refused")
        await expect(booking).to_contain_text("与赵先生的接待")
        await p.shot("refused")
        await booking.locator(".take").click()
        await expect(booking).to_have_attribute("data-state", "booked")
        await expect(booking).to_contain_text("已预约：李先生")
        assert [v.start for v in one.visits] == [one.visits[0].start, taken,
                                                 taken + timedelta(minutes=60)]

        await page.click("#lang")
        await expect(binjiang).to_contain_text("Link up")
        await expect(page.locator("h2").first).to_have_text("Every site now")
        await expect(booking).to_contain_text("Booked: 李先生")
        search = page.locator("#search-form")
        await search.locator("[name=q]").fill("李")
        await search.locator("button[type=submit]").click()
        await expect(page.locator("#results")).to_contain_text("李先生")
        await expect(page.locator("#results")).to_contain_text("滨江壹号")

        await page.set_viewport_size({"width": 1280, "height": 800})  # a desk screen
        sites_box = await page.locator("#sites").bounding_box()
        book_box = await page.locator("#book-card").bounding_box()
        assert sites_box is not None and book_box is not None
        assert book_box["x"] > sites_box["x"] + sites_box["width"]  # side by side
        await p.shot("desk")


async def test_a_viewer_sees_the_sites_and_no_booking_form(
        tmp_path: Path, mosquitto: Mosquitto, postgres: Postgres, topic_prefix: str) -> None:
    path = hq_file(tmp_path, mosquitto, new_database(postgres), topic_prefix)
    async with running_hq(path) as running, phone(tmp_path) as p:
        page = p.page
        await sign_in(page, running.server.url, "viewer", PASSWORDS["viewer"])
        await expect(page.locator("#sites li[data-site=xihu]")).to_contain_text("尚未收到消息")
        await expect(page.locator("#book-card")).to_be_hidden()
