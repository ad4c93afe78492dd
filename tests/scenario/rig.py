"""A whole site for scenario tests: the demo config on a real broker, simulators, daemon."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from controller.config.site import SiteConfig, load_site
from controller.daemon import Daemon
from controller.store.requests import VisitRequest
from controller.store.visits import Visit
from scenes.loader import load_scene
from scenes.model import Scene
from simulators.site import SiteSimulators
from tests.broker import Mosquitto

ROOT = Path(__file__).resolve().parents[2]
# Every announcement of the shipped scene for a visit by 王先生, in the order they are said.
SAID_FOR_WANG = [
    "请保安准备停车场遮阳,迎接王先生的车辆",
    "请准备好毛巾、茶点和果盘,王先生三十分钟后到访",
    "请管理层及物业经理到入口喷泉处等候王先生",
    "王先生已到访,请各岗位做好接待工作",
    "王先生即将参观样板房,请样板房管家做好准备",
    "王先生即将离开,请销售人员在门口列队送别",
]


def site_file(tmp_path: Path, broker: Mosquitto, prefix: str, *, database: str | None = None,
              site_id: str = "demo", extra: str = "") -> Path:
    """config/demo.yaml, pointed at the test's broker, namespace and database (an SQLite
    file of its own unless `database` is given), as site `site_id`, with the sections in
    `extra` (YAML) added."""
    text = (ROOT / "config" / "demo.yaml").read_text()
    text = text.replace("url: mqtt://127.0.0.1:1883",
                        f"url: {broker.url}\n  topic_prefix: {prefix}\n  keepalive: 5")
    text = text.replace("  id: demo\n", f"  id: {site_id}\n")
    # Two sites on one broker need two client ids, or the broker drops one for the other.
    text = text.replace("client_id: vipctl-demo", f"client_id: vipctl-{site_id}")
    url = database or f"sqlite:///{tmp_path / 'vipctl.db'}"
    text += f"\ndatabase:\n  url: {url}\n{extra}"
    path = tmp_path / "site.yaml"
    path.write_text(text)
    return path


@dataclass
class SiteRig:
    site: SiteConfig
    scene: Scene
    sims: SiteSimulators
    daemon: Daemon

    @property
    def engine(self) -> Any:
        return self.daemon.engine

    def now(self) -> datetime:
        return self.daemon.clock()

    async def book(self, in_seconds: float = 0.0, surname: str = "王", honorific: str = "先生",
                   start: datetime | None = None, **extra: Any) -> Visit:
        request = VisitRequest.model_validate(
            {"surname": surname, "honorific": honorific,
             "start": start or self.now() + timedelta(seconds=in_seconds), **extra},
            context={"tz": self.daemon.tz})
        visit: Visit = await self.engine.book_visit(request, source="test")
        return visit

    def said(self) -> list[str]:
        return [text for text in self.sims["staff_intercom"].spoken_texts()]  # type: ignore[attr-defined]

    def kinds(self, visit_id: str | None = None) -> list[tuple[str, str | None]]:
        events = self.daemon.events.query(visit_id=visit_id, limit=1000)
        return [(e.kind, e.result) for e in reversed(events)]


@asynccontextmanager
async def site_rig(tmp_path: Path, broker: Mosquitto, prefix: str, *, speed: float = 600.0,
                   initial: dict[str, dict[str, Any]] | None = None,
                   database: str | None = None, site_id: str = "demo", extra: str = "",
                   ) -> AsyncIterator[SiteRig]:
    site = load_site(site_file(tmp_path, broker, prefix, database=database, site_id=site_id,
                               extra=extra))
    scene = load_scene(known_targets=set(site.devices) | set(site.groups))
    sims = SiteSimulators(site.devices, host=broker.host, port=broker.port, topic_prefix=prefix)
    for device_id, state in (initial or {}).items():
        sims[device_id].state.update(state)
    async with sims:
        daemon = Daemon(site, scene, speed=speed)
        async with daemon:
            yield SiteRig(site, scene, sims, daemon)
