"""Building local players and speakers from their options: for the daemon and for the agent.

Both build the same objects; only the transport differs (an in-process loopback in the
daemon, one MQTT connection per device in `vipctl agent media`).
"""

from __future__ import annotations

from pathlib import Path

from devices.conventions.registry import make_codec
from devices.device import Device
from devices.local.config import PlayerOptions, SpeakerOptions
from devices.local.player_device import PlayerDevice, PlayerListener
from devices.local.ptt_relay import NoPtt, RelayPolicy, RelayPtt
from devices.local.settings import KeepPlaying
from devices.local.speaker import SpeakerGateway
from devices.local.tts import Tts
from devices.local.vlc_player import VlcPlayer
from devices.ptt import PushToTalk
from devices.transports.base import Transport


def build_player(device_id: str, options: PlayerOptions, *, base: str, transport: Transport,
                 root: Path, own_availability: bool = False,
                 listener: PlayerListener | None = None) -> PlayerDevice:
    player = VlcPlayer(device_id, settings=options.settings(), root=options.root(root),
                       keep_playing=options.restart.policy(), shuffle=options.shuffle)
    return PlayerDevice(device_id, base, player, transport, state_file=options.state_file,
                        own_availability=own_availability, listener=listener)


def build_speaker(device_id: str, options: SpeakerOptions, *, base: str, transport: Transport,
                  relay_transport: Transport | None, own_availability: bool = False,
                  ) -> SpeakerGateway:
    """`relay_transport`: where the PTT relay's messages go (the MQTT connection)."""
    player = VlcPlayer(f"{device_id}.audio", settings=options.settings(),
                       keep_playing=KeepPlaying(enabled=False))
    tts = Tts(options.cache_dir, speed=options.speed)
    return SpeakerGateway(device_id, base, transport=transport, tts=tts, player=player,
                          ptt=build_ptt(device_id, options, relay_transport),
                          clips=options.clips, volume=options.volume,
                          own_availability=own_availability, max_audio=options.max_audio)


def build_ptt(device_id: str, options: SpeakerOptions,
              relay_transport: Transport | None) -> PushToTalk:
    ptt = options.ptt
    if ptt.serial is not None:
        from devices.transports.serial_ptt import SerialPushToTalk  # pyserial: only if used

        return SerialPushToTalk.from_options(ptt.serial, lead_in=ptt.lead_in, tail=ptt.tail,
                                             max_transmit=ptt.max_transmit)
    if ptt.relay is None:
        return NoPtt(lead_in=ptt.lead_in, tail=ptt.tail)
    if relay_transport is None:
        raise ValueError(f"{device_id}: a PTT relay needs an MQTT connection")
    relay_id = f"{device_id}.ptt"
    relay = Device(relay_id, kind="switch", codec=make_codec(relay_id, "switch", ptt.relay),
                   transport=relay_transport, policy=RelayPolicy())
    relay.attach()
    return RelayPtt(relay, lead_in=ptt.lead_in, tail=ptt.tail, max_transmit=ptt.max_transmit)
