"""Head office in a test: its file, a PostgreSQL database of its own, `HeadOffice` with its
real API server on a free port, and a client holding the admin token."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from controller.api.server import ApiServer, serve_app
from controller.auth.settings import Role
from controller.hq.app import make_hq_app
from controller.hq.config import HqConfig, load_hq
from controller.hq.service import HeadOffice
from tests.api.harness import ADMIN, TOKENS, site_auth
from tests.broker import Mosquitto
from tests.postgres import Postgres
from tests.waiting import eventually

SITES = {"binjiang": "滨江壹号", "xihu": "西湖里"}


def hq_file(tmp_path: Path, broker: Mosquitto, database_url: str, prefix: str,
            sites: dict[str, str] | None = None) -> Path:
    """An hq.yaml with a token per role (tests.api.harness's)."""
    tokens = "\n".join(f"    - {{name: {role.value}, role: {role.value}, token: {token}}}"
                       for role, token in TOKENS.items())
    listed = "\n".join(f"  {k}: {v}" for k, v in (SITES if sites is None else sites).items())
    path = tmp_path / "hq.yaml"
    path.write_text(f"""\
mqtt:
  url: mqtt://{broker.host}:{broker.port}
  client_id: hq-{prefix}
  topic_prefix: {prefix}
database:
  url: {database_url}
auth:
  tokens:
{tokens}
sites:
{listed}
""")
    return path


def new_database(postgres: Postgres) -> str:
    return postgres.create_database(f"hq_{uuid.uuid4().hex[:12]}")


@dataclass
class RunningHq:
    hq: HeadOffice
    server: ApiServer
    client: httpx.AsyncClient

    def as_role(self, role: Role) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.server.url, timeout=30,
                                 headers={"Authorization": f"Bearer {TOKENS[role]}"})

    async def sites(self) -> dict[str, dict[str, object]]:
        response = await self.client.get("/sites")
        response.raise_for_status()
        return {s["site"]: s for s in response.json()}


@asynccontextmanager
async def running_hq(config: HqConfig | Path) -> AsyncIterator[RunningHq]:
    """Head office as `vipctl hq` runs it, in this process; the page's users are
    tests.api.harness's (a user per role, password its name backwards)."""
    if isinstance(config, Path):
        config = load_hq(config)
    async with HeadOffice(config) as hq:
        server = await serve_app(make_hq_app(hq, auth=site_auth()), "127.0.0.1", 0, config.api)
        try:
            async with httpx.AsyncClient(base_url=server.url, headers=ADMIN,
                                         timeout=30) as client:
                await eventually(hq.ingest.connected.is_set, what="head office subscribed")
                yield RunningHq(hq, server, client)
        finally:
            await server.stop()
