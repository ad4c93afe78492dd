"""An MQTT broker inside the vipctl process, for the demo on a machine with nothing installed.

amqtt 0.12 speaks MQTT 3.1.1 only (it refuses v5): fine for the demo, where every client is
vipctl's own (aiomqtt and paho-mqtt default to 3.1.1), not for a site, which runs Mosquitto or
EMQX. It listens on loopback only, on a port the system picks, and allows anonymous clients:
nothing outside this machine can reach it.

    async with EmbeddedBroker() as broker:
        ... connect to broker.host, broker.port ...
"""

from __future__ import annotations

import logging
from typing import Any

from controller.errors import ControllerError

# The only plugin the demo needs: amqtt's defaults also load packet and event loggers and
# the $SYS publisher (every 20 s), which would only add noise and a background task.
PLUGINS = {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}}
LOOPBACK = "127.0.0.1"
# amqtt and its state-machine library log every connection at INFO; the demo prints its own.
QUIET_LOGGERS = ("amqtt", "transitions")


class BrokerUnavailable(ControllerError):
    """The embedded broker cannot run: amqtt is missing or it failed to start."""


class EmbeddedBroker:
    """amqtt's broker on a free loopback port. start()/stop() or `async with`."""

    def __init__(self, *, host: str = LOOPBACK, port: int = 0) -> None:
        self.host = host
        self.port = port  # 0 until started: the system picks a free port
        self._requested = port
        self._broker: Any = None

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._broker is not None

    async def start(self) -> None:
        if self._broker is not None:
            return
        try:
            from amqtt.broker import Broker  # the `demo` extra: not needed by a real site
        except ImportError as exc:
            raise BrokerUnavailable(
                "the embedded broker needs amqtt: pip install 'vipctl[demo]', "
                "or give --mqtt URL of a running broker") from exc
        for name in QUIET_LOGGERS:
            if logging.getLogger(name).level == logging.NOTSET:
                logging.getLogger(name).setLevel(logging.WARNING)
        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self._requested}"}},
            "plugins": PLUGINS,
        }
        broker = Broker(config)
        try:
            await broker.start()
        except Exception as exc:  # amqtt wraps everything in BrokerError
            raise BrokerUnavailable(f"the embedded broker did not start: {exc}") from exc
        self._broker = broker
        # amqtt has no public accessor for the bound address; with port 0 it is the only way
        # to learn which port the system gave us.
        server = broker._servers["default"].instance  # noqa: SLF001 - amqtt 0.12, pinned
        self.port = int(server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        """Disconnect every client and close the listener. Idempotent."""
        broker, self._broker = self._broker, None
        if broker is not None:
            await broker.shutdown()

    async def __aenter__(self) -> EmbeddedBroker:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
