"""A phone-sized headless Chromium for the page's tests: Debian's chromium through
Playwright (Playwright's own browser download cannot work on these machines)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from playwright.async_api import Page, async_playwright

CHROMIUM = "/usr/bin/chromium"  # scripts/test installs Debian's chromium
# As root chromium needs --no-sandbox; the rest keep it off the (closed) network.
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync",
        "--disable-dev-shm-usage"]
# An everyday phone (CSS pixels), the page's first target.
PHONE = {"width": 390, "height": 844}
# How long the page may take to show something that happened (ms): under load, not 100 ms.
SHOWS_WITHIN_MS = 10_000


@dataclass
class Phone:
    page: Page
    shots: Path
    taken: list[Path] = field(default_factory=list)

    async def shot(self, name: str) -> Path:
        """A full-page screenshot, numbered in the order taken."""
        path = self.shots / f"{len(self.taken) + 1:02d}-{name}.png"
        await self.page.screenshot(path=str(path), full_page=True)
        self.taken.append(path)
        return path


@asynccontextmanager
async def phone(tmp_path: Path) -> AsyncIterator[Phone]:
    shots = tmp_path / "screenshots"
    shots.mkdir(exist_ok=True)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            context = await browser.new_context(
                viewport=PHONE, device_scale_factor=1, is_mobile=True, has_touch=True,
                locale="zh-CN", timezone_id="Asia/Shanghai")
            page = await context.new_page()
            page.set_default_timeout(SHOWS_WITHIN_MS)
            # An uncaught error in the page's scripts fails the test, whatever it shows.
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            yield Phone(page, shots)
            assert errors == [], errors
        finally:
            await browser.close()


async def sign_in(page: Page, url: str, user: str, password: str) -> None:
    await page.goto(url)
    await page.fill("#login-form [name=user]", user)
    await page.fill("#login-form [name=password]", password)
    await page.click("#login-form button[type=submit]")
    await page.wait_for_selector("#app-view:not([hidden])")
    await page.wait_for_selector("#live[data-state=on]")


def text(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)
