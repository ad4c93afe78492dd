"""Undoing a mistaken departure on the concierge page (phone-sized Chromium, real daemon,
broker and intercom simulator): the toast's 撤销, a confirmation that says plainly what was
already announced and cannot be unsaid, the visit back at the show flat, the restore called
off. Screenshots under tests/artifacts/undo/ (gitignored)."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

from playwright.async_api import Dialog, expect

from controller.api.server import ApiServer
from controller.store.visits import VisitStatus
from tests.api.harness import FAR, PASSWORDS, ApiSite
from tests.waiting import eventually
from tests.web.browser import phone, sign_in

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "undo"
DEPARTURE = "王先生即将离开,请销售人员在门口列队送别"




async def test_a_mistaken_departure_undone_from_the_phone(
        slow_site: tuple[ApiSite, ApiServer]) -> None:
    site, server = slow_site
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    visit = (await site.book(FAR))["id"]
    for name in ("arrival", "show-flat"):
        await site.client.post(f"/triggers/{name}", json={"visit_id": visit})
    async with phone(ARTIFACTS) as p:
        page = p.page
        await sign_in(page, server.url, "concierge", PASSWORDS["concierge"])
        await expect(page.locator("#current .badge")).to_have_text("参观样板房")

        await page.click("button[data-trigger=departure]")
        await eventually(lambda: site.rig.daemon.ledger.results(visit).get("f13-departure")
                         == "ok")
        done = page.locator("#toasts .toast.ok", has_text="已执行：离开")
        undo = done.locator("button.toast-action")
        await expect(undo).to_have_text("撤销")
        await p.shot("departure-pressed")
        asked: list[str] = []

        async def accept(dialog: Dialog) -> None:
            asked.append(dialog.message)
            await dialog.accept()

        page.once("dialog", accept)
        await undo.click()
        await expect(page.locator("#toasts")).to_contain_text("已撤销「离开」，回到「参观样板房」")
        assert asked == ["撤销「离开」？接待将回到「参观样板房」。\n"
                         f"已播出的广播无法撤回：«{DEPARTURE}»"]
        await expect(page.locator("#current .badge")).to_have_text("参观样板房")
        await p.shot("departure-undone")
        await asyncio.sleep(5 + 1)  # when the restore was due
        assert site.rig.daemon.book.get(visit).status is VisitStatus.AT_SHOW_FLAT
        assert "restore" not in site.rig.daemon.ledger.done(visit)
    print(f"\nscreenshots: {p.shots}")
