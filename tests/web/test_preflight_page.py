"""The preflight on the concierge page, in a real headless browser over the real daemon,
broker and simulators: the next visit's device problems in red, and the re-check button
clearing them once the device is back."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import expect

from tests.api.harness import PASSWORDS, ApiSite, served
from tests.waiting import eventually
from tests.web.browser import phone, sign_in


async def test_problems_in_red_and_the_recheck_button(site: ApiSite, tmp_path: Path) -> None:
    rig = site.rig
    room = rig.sims["vip_room_climate"]
    await room.go_offline()
    await eventually(lambda: rig.daemon.registry["vip_room_climate"].available is False)
    visit = await site.book()  # tomorrow: its own preflight is far off
    async with phone(tmp_path) as p, served(site) as server:
        page = p.page
        await sign_in(page, server.url, "concierge", PASSWORDS["concierge"])
        box = page.locator("#preflight")
        await expect(box).to_contain_text("设备预检：尚未检查")
        await box.locator("button.recheck").click()
        await expect(box).to_contain_text("设备预检发现 1 个问题")
        await expect(box.locator("li.problem.offline")).to_have_text("VIP室温湿度离线")
        await expect(box).to_have_class("preflight bad")
        color = await box.evaluate("node => getComputedStyle(node).color")
        assert color == "rgb(198, 40, 40)", color  # --bad: #c62828, red
        await p.shot("preflight-problem")

        await room.come_back()
        await eventually(lambda: rig.daemon.registry["vip_room_climate"].available is True)
        await box.locator("button.recheck").click()
        await expect(box).to_contain_text("设备预检：全部正常")
        await expect(box.locator("li")).to_have_count(0)
        await expect(box).to_have_class("preflight")
        await p.shot("preflight-cleared")
    results = [e.result for e in rig.daemon.events.query(visit_id=visit["id"],
                                                          kinds=["preflight"])]
    assert results == ["ok", "cleared", "problem", "problem"]  # newest first
