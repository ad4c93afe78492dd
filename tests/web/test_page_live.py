"""The page keeps itself current: it comes back by itself after the daemon's API goes away
and returns; a device going offline or failing shows in red with since when; a viewer sees
everything and can press nothing."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from playwright.async_api import expect

from controller.api.server import serve_api
from controller.auth.settings import Role
from tests.api.harness import PASSWORDS, TEST_HEARTBEAT, ApiSite, bearer, served
from tests.web.browser import phone, sign_in


async def test_the_live_feed_recovers_when_the_api_comes_back(site: ApiSite,
                                                              tmp_path: Path) -> None:
    async with phone(tmp_path) as p, served(site) as first:
        page = p.page
        await sign_in(page, first.url, "concierge", PASSWORDS["concierge"])
        await expect(page.locator("#visits")).to_contain_text("24小时内没有预约")

        await first.stop()  # the daemon's API restarts (an upgrade, a crash of the server)
        await expect(page.locator("#live")).to_have_attribute("data-state", "off")
        await expect(page.locator("#live")).to_have_text("重连中…")
        # Meanwhile a booking arrives by another way: the page must not miss it.
        await site.rig.book(in_seconds=600, surname="赵", honorific="总",
                            duration=timedelta(minutes=5))
        await p.shot("api-gone")

        again = await serve_api(site.rig.daemon, first.host, first.port,
                                heartbeat=TEST_HEARTBEAT, auth=site.app.state.auth)
        try:
            await expect(page.locator("#live")).to_have_attribute("data-state", "on",
                                                                  timeout=15_000)
            await expect(page.locator("#visits")).to_contain_text("赵总")
            # Live again: what happens now shows up without a reload.
            await site.rig.book(in_seconds=1200, surname="孙", honorific="先生",
                                duration=timedelta(minutes=5))
            await expect(page.locator("#visits")).to_contain_text("孙先生")
            await p.shot("api-back")
        finally:
            await again.stop()


async def test_offline_and_failed_devices_show_in_red(site: ApiSite, tmp_path: Path) -> None:
    async with phone(tmp_path) as p, served(site) as server:
        page = p.page
        await sign_in(page, server.url, "admin", PASSWORDS["admin"])
        hall = page.locator("#devices li[data-device=hall_lights]")
        await expect(hall).to_contain_text("在线")
        await expect(hall).not_to_have_class(re.compile("bad"))

        await site.rig.sims["hall_lights"].go_offline()
        await expect(hall).to_have_class(re.compile("bad"))
        await expect(hall).to_contain_text(re.compile(r"离线 自 \d\d:\d\d:\d\d"))

        # The air conditioning stops answering; VIP now's preparation cannot confirm it.
        site.rig.sims["vip_room_ac"].faults.ignore_commands = True
        await page.locator("details.vip-guest summary").click()
        await page.fill("#vip-surname", "周")
        await page.fill("#vip-honorific", "总")
        await page.locator("button[data-trigger=vip-now]").click()
        ac = page.locator("#devices li[data-device=vip_room_ac]")
        await expect(ac).to_have_class(re.compile("bad"), timeout=20_000)
        # In the staff's words: the device's name, what to do (tests/web/test_page_under_stress.py).
        await expect(ac.locator(".failure")).to_have_text(re.compile(
            r"^VIP室空调没有响应（.+）。请检查设备电源和网络；仍不行请联系工程部。"
            r" 自 \d\d:\d\d:\d\d$"))
        await expect(page.locator("#current .guest")).to_have_text("周总")
        # The cue that could not confirm the air conditioning is marked failed in the timeline.
        failed = page.locator("#timeline li.failed")
        await expect(failed).to_contain_text("P10 空调提前45分钟开启")
        await expect(failed.locator(".step")).to_have_text("失败")
        await p.shot("devices-in-red")

        await site.rig.sims["hall_lights"].come_back()
        await expect(hall).not_to_have_class(re.compile("bad"))


async def test_a_viewer_sees_but_cannot_press(site: ApiSite, tmp_path: Path) -> None:
    await site.book(timedelta(hours=3))
    async with phone(tmp_path) as p, served(site) as server:
        page = p.page
        await sign_in(page, server.url, "viewer", PASSWORDS["viewer"])
        for name in ("arrival", "show-flat", "departure", "vip-now"):
            button = page.locator(f"button[data-trigger={name}]")
            await expect(button).to_be_disabled()
            await expect(page.locator(".press", has=button).locator(".why")).to_have_text(
                "需要礼宾权限")
        await expect(page.locator("#visits li")).to_contain_text("王先生")
        await expect(page.locator("#visits .actions")).to_have_count(0)  # no move, no cancel
        await page.locator("#book-form [name=surname]").fill("吴")
        await page.locator("#book-form button[type=submit]").click()
        await expect(page.locator("#refusal .error")).to_contain_text("没有权限")
        assert len(site.rig.daemon.book.list()) == 1
        # The token holder next to the viewer's phone can, of course.
        ok = await site.client.get("/auth/me", headers=bearer(Role.CONCIERGE))
        assert ok.json()["role"] == "concierge"


async def test_move_and_cancel_from_the_list(site: ApiSite, tmp_path: Path) -> None:
    first = await site.book(timedelta(hours=2), surname="郑", honorific="总")
    second = await site.book(timedelta(hours=5), surname="冯", honorific="女士")
    async with phone(tmp_path) as p, served(site) as server:
        page = p.page
        await sign_in(page, server.url, "concierge", PASSWORDS["concierge"])
        zheng = page.locator(f"#visits li[data-visit={first['id']}]")

        # Move 郑总 onto 冯女士: refused, the next free start put in the field; save that.
        await zheng.locator("button.move").click()
        typed = site.at(timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M")
        await zheng.locator("input[name=move-start]").fill(typed)
        # A booking made elsewhere meanwhile redraws the list: what was typed stays.
        third = await site.book(timedelta(hours=9), surname="褚", honorific="先生")
        await expect(page.locator(f"#visits li[data-visit={third['id']}]")).to_be_visible()
        await expect(zheng.locator("input[name=move-start]")).to_have_value(typed)
        await zheng.locator("button.save").click()
        await expect(zheng.locator(".error")).to_contain_text("与冯女士的接待")
        await p.shot("move-refused")
        await zheng.locator("button.save").click()
        await expect(page.locator("#toasts")).to_contain_text("已改期 郑总")
        moved = site.rig.daemon.book.get(first["id"])
        assert moved.start > site.rig.daemon.book.get(second["id"]).end

        feng = page.locator(f"#visits li[data-visit={second['id']}]")
        await feng.locator("button.cancel").click()
        await feng.locator("input[name=cancel-reason]").fill("客户行程变更")
        await feng.locator("button.confirm").click()
        await expect(feng).to_contain_text("已取消")
        cancelled = site.rig.daemon.book.get(second["id"])
        assert (cancelled.status.value, cancelled.cancel_reason) == ("cancelled", "客户行程变更")
        await p.shot("cancelled")
