"""The whole chain, every part real: two sites (daemon, simulators, broker) bridged by the
sections `vipctl bridge-config` prints to head office's broker, and `vipctl hq` on it with
PostgreSQL and its page in Chromium. A visit at each site, head office's broker stopped
for part of it; the page shows both sites live, `vipctl hq` stores every event of both
visits once, and a booking made on head office's page lands in the site's book."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.async_api import expect
from sqlalchemy import select

from controller.hq.tables import hq_events
from controller.store.visits import VisitStatus
from tests.api.harness import PASSWORDS
from tests.hq.harness import hq_file, new_database, running_hq
from tests.link.test_three_brokers import (
    ARRIVAL,
    SPEED,
    brokers,
    show_flat_and_departure,
    site_ids,
)
from tests.postgres import Postgres
from tests.scenario.rig import site_rig
from tests.waiting import eventually
from tests.web.browser import phone, sign_in

pytestmark = pytest.mark.xdist_group("postgresql")

NAMES = {"north": "北区案场", "south": "南区案场"}


async def test_head_office_shows_two_visits_live_and_stores_every_event_once(
        tmp_path: Path, postgres: Postgres, topic_prefix: str) -> None:
    async with brokers(tmp_path, topic_prefix, list(NAMES)) as (hq_broker, brokers_of), \
            AsyncExitStack() as stack:
        # The bridges map the sites' test prefix away: head office's topics have none.
        path = hq_file(tmp_path, hq_broker, new_database(postgres), "", sites=NAMES)
        path.write_text(path.read_text().replace("  topic_prefix: \n", ""))
        office = await stack.enter_async_context(running_hq(path))
        rigs = {site: await stack.enter_async_context(
                    site_rig(tmp_path / site, broker, topic_prefix, speed=SPEED, site_id=site))
                for site, broker in brokers_of.items()}
        browser = await stack.enter_async_context(phone(tmp_path))
        page = browser.page
        await sign_in(page, office.server.url, "concierge", PASSWORDS["concierge"])
        rows = {site: page.locator(f"#sites li[data-site={site}]") for site in NAMES}
        for site, row in rows.items():
            await expect(row).to_contain_text(NAMES[site])
            await expect(row).to_contain_text("链路正常")

        visits = {s: await rig.book(in_seconds=5) for s, rig in rigs.items()}
        for row in rows.values():  # next, then current as the preparation begins (×600)
            await expect(row).to_contain_text("王先生")
        await eventually(lambda: all(r.sims["vip_room_ac"].state.get("power")
                                     for r in rigs.values()))
        await asyncio.to_thread(hq_broker.stop)  # the WAN goes, mid-preparation
        for rig in rigs.values():
            await eventually(lambda r=rig: len(r.said()) >= 3)
            assert (await rig.engine.trigger("arrival", source="test")).accepted
        await eventually(lambda: all(ARRIVAL in r.said() for r in rigs.values()))
        await asyncio.to_thread(hq_broker.start)
        for row in rows.values():  # the summaries the bridges kept for head office
            await expect(row).to_contain_text("当前：王先生", timeout=20_000)
            await expect(row).to_contain_text("链路正常")
        await browser.shot("both-sites-mid-visit")

        await show_flat_and_departure(rigs, visits)
        for row in rows.values():
            await expect(row).to_contain_text("当前无接待", timeout=20_000)

        def stored(site: str) -> list[str]:
            with office.hq.store.engine.connect() as conn:
                return list(conn.scalars(select(hq_events.c.id).where(hq_events.c.site == site)))

        for site, rig in rigs.items():
            await eventually(lambda s=site, r=rig: set(stored(s)) == site_ids(r), timeout=30,
                             what=f"every event of {site} in head office's database")
            assert len(stored(site)) == len(site_ids(rig))  # each once
            print(f"\n[hq] site {site}: {len(stored(site))} events stored, each once")

        # A booking on head office's page, across the bridge, into north's book.
        tomorrow = (rigs["north"].now() + timedelta(days=1)).replace(hour=10, minute=0,
                                                                     second=0, microsecond=0)
        form = page.locator("#book-form")
        await form.locator("[name=site]").select_option("north")
        await form.locator("[name=surname]").fill("李")
        await form.locator("[name=start]").fill(tomorrow.strftime("%Y-%m-%dT%H:%M"))
        await form.locator("button[type=submit]").click()
        await expect(page.locator("#booking")).to_have_attribute("data-state", "booked",
                                                                 timeout=20_000)
        booked = rigs["north"].daemon.book.list(statuses=[VisitStatus.BOOKED])
        assert [(v.salutation, v.start) for v in booked] == [("李先生", tomorrow)]
        assert booked[0].source.startswith("hq:")
