"""Walk-ins on the concierge page (P1), on a phone-sized Chromium over the real daemon,
broker and intercom simulator: outside a visit one tap calls the 客户管家; during one the
page shows the polite words and the callback's form; the reminder after the visit; the
callback booked in one tap, and one refused with the reason and the next free slot.
Screenshots of each step under tests/artifacts/walk-ins/ (gitignored)."""

from __future__ import annotations

import re
import shutil
from datetime import timedelta
from pathlib import Path

from playwright.async_api import expect

from controller.api.server import ApiServer
from controller.store.visits import VisitStatus
from controller.store.walk_ins import WalkInStatus
from tests.api.harness import FAR, PASSWORDS, ApiSite
from tests.waiting import eventually
from tests.web.browser import phone, sign_in

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "walk-ins"
CALL_NOW = "有客户来访,未预约,请客户管家到前台接待"
REMIND = "贵宾接待已结束,有2位来访客户等待回电预约,请客户管家跟进"
PHONE = "139 0000 1111"




async def test_walk_ins_from_the_phone(slow_site: tuple[ApiSite, ApiServer]) -> None:
    site, server = slow_site
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    async with phone(ARTIFACTS) as p:
        page = p.page
        await sign_in(page, server.url, "concierge", PASSWORDS["concierge"])

        # No VIP on site: one tap, and the 客户管家 hears at once that a customer is here.
        await page.click("#walk-in-button")
        await expect(page.locator("#toasts")).to_contain_text("已通知客户管家到前台接待")
        await eventually(lambda: CALL_NOW in site.rig.said())
        await expect(page.locator("#walk-in")).to_be_hidden()
        await p.shot("walk-in-no-vip")

        # 王先生 arrives; 赵先生 walks in: the page shows the words and takes the callback.
        visit = await site.book(FAR)
        other = await site.book(timedelta(days=2, hours=4))
        await site.client.post("/triggers/arrival", json={"visit_id": visit["id"]})
        await expect(page.locator("#current .badge")).to_have_text("已到访")
        await page.click("#walk-in-button")
        words = page.locator("#walk-in-words")
        await expect(words).to_be_visible()
        await expect(words).to_contain_text("楼书")
        await expect(words).to_contain_text("客户管家会与您联系，为您预约参观时间")
        preferred = site.at(timedelta(days=2))
        form = page.locator("#walk-in-form")
        await form.locator("[name=surname]").fill("赵")
        await form.locator("[name=phone]").fill("not a number")
        await form.locator("[name=preferred]").fill(preferred.strftime("%Y-%m-%dT%H:%M"))
        await form.locator("button[type=submit]").click()
        await expect(form.locator(".error")).to_have_text(
            "请填写正确的电话号码（数字，可带 + 和 -）")
        await form.locator("[name=phone]").fill(PHONE)
        await p.shot("walk-in-during-visit-words")
        await form.locator("button[type=submit]").click()
        await expect(page.locator("#toasts")).to_contain_text("已记录 赵先生")
        await expect(page.locator("#walk-in")).to_be_hidden()
        zhao = page.locator("#callbacks li", has_text="赵先生")
        await expect(zhao).to_contain_text(PHONE)  # a concierge sees the whole number
        await expect(zhao).to_contain_text(f"希望 {preferred:%m-%d %H:%M}")
        # A second customer, wanting 王总's slot the day after: kept too.
        await site.client.post("/walk-ins", json={"surname": "孙", "honorific": "女士",
                                                  "phone": "13800000000",
                                                  "preferred": other["start"]})
        await expect(page.locator("#callbacks li")).to_have_count(2)
        await p.shot("callbacks-kept")
        assert CALL_NOW not in site.rig.said()[1:]  # nothing more said while the guest is here

        # The visit ends: the 客户管家 is told how many callbacks wait.
        await site.client.post("/triggers/departure")
        await eventually(lambda: site.rig.daemon.book.get(visit["id"]).status
                         is VisitStatus.DONE, timeout=15)
        await eventually(lambda: REMIND in site.rig.said(), timeout=10)
        await expect(page.locator("#said")).to_contain_text(REMIND)
        await p.shot("reminded-after-visit")

        # One tap books 赵先生 at his preferred time.
        await zhao.locator("button.book").click()
        await expect(page.locator("#toasts")).to_contain_text(
            f"已为 赵先生 预约 {preferred:%m-%d %H:%M}")
        await expect(zhao).to_have_count(0)
        [walk_in] = [w for w in site.rig.daemon.walk_ins.book.list() if w.surname == "赵"]
        assert walk_in.status is WalkInStatus.BOOKED
        booked = site.rig.daemon.book.get(walk_in.booking or "")
        assert (booked.salutation, booked.start) == ("赵先生", preferred)

        # 孙女士's preferred time is taken: refused with the reason, the next slot offered.
        sun = page.locator("#callbacks li", has_text="孙女士")
        await sun.locator("button.book").click()
        await expect(sun.locator(".error")).to_have_text(re.compile(
            r"^无法预约：与已有接待冲突，一时一客；最早可约 \d\d-\d\d \d\d:\d\d$"))
        await expect(sun.locator("button.take")).to_be_visible()
        await p.shot("callback-refused")
        await sun.locator("button.take").click()
        await expect(page.locator("#callbacks")).to_contain_text("没有待回电的客户")
        await p.shot("callbacks-booked")
    assert [s.name for s in p.taken] == [
        "01-walk-in-no-vip.png", "02-walk-in-during-visit-words.png", "03-callbacks-kept.png",
        "04-reminded-after-visit.png", "05-callback-refused.png", "06-callbacks-booked.png"]
    print(f"\nscreenshots: {p.shots}")
