"""`vipctl agent media --config agent.yaml`: the players and speakers of one PC, on MQTT.

It runs on a player PC (the VIP room's TV PC, the music PC, the PC wired to the radio) and
exposes each player in the vipctl-media convention and each speaker in the vipctl-intercom
convention (docs/conventions-vipctl.md), with availability: every device has an MQTT
connection of its own, whose last will is its `<t>/availability` "offline". The site file
then names them with `mqtt: {convention: vipctl-media, topic: ...}`, as any remote player.

    mqtt: {url: mqtt://192.168.1.10:1883, username: agent, password_env: AGENT_MQTT_PASSWORD}
    players:
      vip_room_video:
        topic: vipctl/media/vip_room_video
        video: true
        screen: {x: 1920, y: 0}
    speakers:
      staff_intercom:
        topic: vipctl/intercom/staff
        ptt: {relay: {convention: tasmota, topic: radio_ptt}}

Every field: docs/media.md. The file is validated once, at load; an error names the file, the
line and the field, and nothing starts.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import socket
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from common.yamlconf import FieldError, load_model
from controller.config.site import ID_PATTERN, MqttSettings
from devices.conventions.base import TopicPart
from devices.local.config import PlayerOptions, SpeakerOptions
from devices.transports.mqtt import MqttSettings as Connection
from devices.transports.mqtt import MqttTransport

log = logging.getLogger(__name__)

# Where the players keep their last command, when the file does not say: next to the file.
DEFAULT_STATE_DIR = Path(".vipctl-agent")
# How long start-up waits for the broker before going on (players play without it).
BROKER_WAIT_S = 5.0
# The convention asks agents for a keepalive of 30 s or less, so a dead agent shows soon.
MAX_KEEPALIVE_S = 30

Id = Annotated[str, Field(pattern=ID_PATTERN.pattern)]


class AgentPlayer(PlayerOptions):
    topic: TopicPart  # the device's base topic, e.g. vipctl/media/vip_room_video


class AgentSpeaker(SpeakerOptions):
    topic: TopicPart  # e.g. vipctl/intercom/staff


class AgentConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    mqtt: MqttSettings
    # The players' last commands, kept across restarts; relative to the agent file's folder,
    # the default too (it was the working folder: agents in one folder shared their state).
    state_dir: Path = Field(default=DEFAULT_STATE_DIR, validate_default=True)
    players: dict[Id, AgentPlayer] = Field(default_factory=dict)
    speakers: dict[Id, AgentSpeaker] = Field(default_factory=dict)

    @field_validator("state_dir")
    @classmethod
    def _relative_to_file(cls, value: Path, info: ValidationInfo) -> Path:
        base = Path((info.context or {}).get("base_dir") or Path.cwd())
        value = value.expanduser()
        return value if value.is_absolute() else base / value

    @model_validator(mode="after")
    def _devices_fit_together(self) -> AgentConfig:
        if not self.players and not self.speakers:
            raise FieldError("an agent needs at least one player or speaker")
        problems: list[FieldError] = []
        seen: dict[str, str] = {}
        devices = [("players", n, d.topic) for n, d in self.players.items()] + \
            [("speakers", n, d.topic) for n, d in self.speakers.items()]
        for section, name, topic in devices:
            if section == "speakers" and name in self.players:
                problems.append(FieldError(f"{name!r} is already a player", at=(section, name)))
            if topic in seen:
                problems.append(FieldError(f"{seen[topic]} already uses this topic",
                                           at=(section, name, "topic")))
            seen.setdefault(topic, name)
        if problems:
            raise FieldError.many(problems)
        return self


def load_agent(path: Path) -> AgentConfig:
    """Read and validate an agent file. Raises common.yamlconf.ConfigError."""
    return load_model(path, AgentConfig, context={"base_dir": path.resolve().parent})


class Agent:
    """Every player and speaker of one agent file, each on its own MQTT connection."""

    def __init__(self, config: AgentConfig) -> None:
        from devices.local.build import build_player, build_speaker  # needs libVLC

        self.config = config
        self.transports: dict[str, MqttTransport] = {}
        self.devices: dict[str, Any] = {}
        client = config.mqtt.client_id if config.mqtt.client_id != "vipctl" else \
            f"vipctl-agent-{socket.gethostname()}"
        base = connection(config.mqtt)
        for name, player in config.players.items():
            transport = self._transport(base, f"{client}-{name}", player.topic)
            state_file = player.state_file or config.state_dir / f"{name}.json"
            options = player.model_copy(update={"state_file": state_file})
            self.devices[name] = build_player(name, options, base=player.topic,
                                              transport=transport, root=Path.cwd())
        for name, speaker in config.speakers.items():
            transport = self._transport(base, f"{client}-{name}", speaker.topic)
            self.devices[name] = build_speaker(name, speaker, base=speaker.topic,
                                               transport=transport, relay_transport=transport)

    def _transport(self, base: Connection, client_id: str, topic: str) -> MqttTransport:
        # The device's availability is the connection's status topic and last will.
        settings = dataclasses.replace(base, client_id=client_id[:64],
                                       status_topic=f"{topic}/availability")
        transport = MqttTransport(settings)
        self.transports[client_id] = transport
        return transport

    async def start(self) -> None:
        for device in self.devices.values():
            await device.start()  # plays at once, with or without the broker
        for transport in self.transports.values():
            await transport.start()
        waits = [t.wait_connected(BROKER_WAIT_S) for t in self.transports.values()]
        results = await asyncio.gather(*waits, return_exceptions=True)
        if any(isinstance(r, TimeoutError) for r in results):
            log.warning("broker %s not reachable yet; playing on, reporting once it is",
                        self.config.mqtt.url)
        log.info("agent running: %s", ", ".join(self.devices))

    async def stop(self) -> None:
        """Stop playing (a speaker unkeys its radio, over MQTT for a relay), then say offline
        and disconnect. Idempotent."""
        for device in reversed(list(self.devices.values())):
            try:
                await device.stop()
            except Exception:  # one device that cannot stop must not keep the others going
                log.exception("agent: %s did not stop cleanly", device.id)
        for transport in self.transports.values():
            await transport.close()

    async def run(self, stop: asyncio.Event) -> None:
        await self.start()
        try:
            await stop.wait()
        finally:
            await self.stop()


def connection(m: MqttSettings) -> Connection:
    """The transport's settings from the file's `mqtt:` block (as the daemon's, without its
    own status topic: each device has its availability)."""
    host, port, tls = m.connection
    return Connection(
        host=host, port=port, tls=tls, ca_file=str(m.ca_file) if m.ca_file else None,
        username=m.username.get_secret_value() if m.username else None,
        password=m.password.get_secret_value() if m.password else None,
        client_id=m.client_id, keepalive=min(m.keepalive, MAX_KEEPALIVE_S),
        topic_prefix=m.topic_prefix,
    )
