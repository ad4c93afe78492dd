"""Sites and head office on brokers of their own, joined by the bridge sections that
`vipctl bridge-config` prints; a head-office client that outlives its broker's restarts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiomqtt
from typer.testing import CliRunner

from common.tasks import TaskSet
from controller.cli.main import app
from tests.broker import Mosquitto
from tests.link.listener import Heard, Listener
from tests.scenario.rig import site_file

# The site broker's queue for the bridge while head office is away (1000 by default):
# far more than the events of a visit (docs/mosquitto/README.md says the same).
SITE_QUEUE = "max_queued_messages 100000\n"
# How soon the head-office client tries again after its broker went away (seconds).
RECONNECT_S = 0.2

Login = tuple[str, str | None, str | None]  # client id, user, password


def bridge_config(site: Path, hq_url: str, *args: str, env: dict[str, str] | None = None,
                  ) -> str:
    result = CliRunner().invoke(app, ["bridge-config", "--config", str(site), "--hq", hq_url,
                                      *args], env=env)
    assert result.exit_code == 0, result.output
    return result.stdout


def bridged_site(folder: Path, hq: Mosquitto, prefix: str, site_id: str, *args: str,
                 env: dict[str, str] | None = None) -> tuple[Mosquitto, str]:
    """A site broker (persistent: sessions survive its restart), not started, whose
    configuration ends with the bridge section `vipctl bridge-config` prints for the site's
    file (given `args`); and what the command printed."""
    folder.mkdir(exist_ok=True)
    broker = Mosquitto(persistence=True)
    path = site_file(folder, broker, prefix, site_id=site_id)
    printed = bridge_config(path, hq.url, *args, env=env)
    broker.extra = SITE_QUEUE + printed
    return broker, printed


def hq_acl(printed: str) -> list[str]:
    """The head-office ACL lines `vipctl bridge-config` printed (as comments)."""
    lines = printed.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("# Head office's"))
    block = lines[start + 1:lines.index("", start)]
    return [line.removeprefix("# ") for line in block]


async def _serve(broker: Mosquitto, login: Login, listener: Listener,
                 connected: asyncio.Event) -> None:
    client_id, user, password = login
    while True:
        try:
            async with aiomqtt.Client(broker.host, broker.port, identifier=client_id,
                                      username=user, password=password,
                                      clean_session=False) as client:
                listener.client = client
                await client.subscribe("vipctl/#", qos=1)
                connected.set()
                async for message in client.messages:
                    payload = message.payload if isinstance(message.payload, bytes) else b""
                    listener.heard.append(Heard(str(message.topic), payload, message.retain))
        except aiomqtt.MqttError:
            connected.clear()
        await asyncio.sleep(RECONNECT_S)  # a reconnect's backoff, not a wait for a condition


@asynccontextmanager
async def head_office(broker: Mosquitto, client_id: str, user: str | None = None,
                      password: str | None = None) -> AsyncIterator[Listener]:
    """Head office's client: a persistent session on `broker` (kept across the broker's
    restarts when it persists), subscribed to vipctl/#, reconnecting on its own."""
    tasks = TaskSet("head-office")
    connected = asyncio.Event()
    listener = Listener(client=None, prefix="")  # type: ignore[arg-type]
    tasks.spawn(_serve(broker, (client_id, user, password), listener, connected), "client")
    try:
        await asyncio.wait_for(connected.wait(), 10)
        yield listener
    finally:
        await tasks.stop()
