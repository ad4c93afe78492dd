"""Head office running: its store, its ingest, and the now of every site it reads from them.

`async with HeadOffice(config) as hq:` starts the ingest (controller/hq/ingest.py); the API
(controller/hq/app.py) reads through it. Everything it knows is in the database, so a
restarted head office shows what it showed before, and the broker sends it what it missed.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any

from controller.hq.config import HqConfig
from controller.hq.ingest import Ingest
from controller.hq.store import HqStore
from controller.link import wire
from controller.store.tables import utc_now

# A site whose last summary is older than this is "not heard from for N min": it re-sends
# one at least every SUMMARY_EVERY_S, so two missed in a row is not chance.
STALE_AFTER = timedelta(seconds=2 * wire.SUMMARY_EVERY_S)


class HeadOffice:
    def __init__(self, config: HqConfig) -> None:
        self.config = config
        self.store = HqStore(config.database.url)
        self.ingest = Ingest(config.mqtt, self.store)
        self.stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> HeadOffice:
        self._task = asyncio.create_task(self.ingest.run(), name="hq:ingest")
        return self

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()

    async def close(self) -> None:
        """Idempotent."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.store.close()

    async def sites_now(self, now: datetime | None = None) -> list[dict[str, Any]]:
        rows = {r["site"]: r for r in await asyncio.to_thread(self.store.sites)}
        now = now or utc_now()
        out = []
        for site in sorted({*self.config.sites, *rows}):
            row = rows.get(site, {})
            summary = row.get("summary") or {}
            heard: datetime | None = row.get("summary_at")
            silent = (now - heard) if heard is not None else None
            out.append({
                "site": site,
                "name": self.config.sites.get(site) or row.get("name") or site,
                "heard": heard is not None,
                "last_heard": row.get("last_heard") or heard,
                "summary_at": heard,
                "stale": silent is None or silent > STALE_AFTER,
                "silent_minutes": None if silent is None else int(silent.total_seconds() // 60),
                "link_up": row.get("link_up"),
                "link_since": row.get("link_since"),
                "current": summary.get("current"),
                "next": summary.get("next", []),
                "devices_in_trouble": summary.get("devices_in_trouble", []),
                "preflight": summary.get("preflight"),
            })
        return out

    async def link_up(self, site: str) -> bool | None:
        for row in await asyncio.to_thread(self.store.sites):
            if row["site"] == site:
                up: bool | None = row["link_up"]
                return up
        return None
