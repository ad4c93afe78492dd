"""The simulators' drop_commands knob: a seeded share of commands never reaches the device,
and the same seed loses the same ones (the chaos campaign replays a run from its seed)."""

from __future__ import annotations

import random
from pathlib import Path

from devices.conventions.tasmota import TasmotaOptions
from simulators.dmx import DmxWidgetSimulator
from simulators.serial_link import PtyLink
from simulators.tasmota import TasmotaLight

COMMANDS = 1000


def lamp(seed: int) -> TasmotaLight:
    light = TasmotaLight("lamp", TasmotaOptions(convention="tasmota", topic="lamp"),
                         host="127.0.0.1", port=1)  # never started: fed by hand
    light.faults.drop_commands = 0.3
    light.faults.rng = random.Random(seed)
    return light


async def test_a_seeded_share_of_mqtt_commands_is_lost() -> None:
    light = lamp(7)
    for i in range(COMMANDS):
        light._on_message("cmnd/lamp/POWER", b"ON" if i % 2 else b"OFF")  # noqa: SLF001
    assert light.lost + len(light.received) == COMMANDS
    assert 250 < light.lost < 350  # about 30 %
    again = lamp(7)
    for i in range(COMMANDS):
        again._on_message("cmnd/lamp/POWER", b"ON" if i % 2 else b"OFF")  # noqa: SLF001
    assert again.commands() == light.commands()
    await light.stop()  # the answers (to no broker) are dropped quietly
    await again.stop()


async def test_off_by_default_and_nothing_drawn() -> None:
    light = TasmotaLight("lamp", TasmotaOptions(convention="tasmota", topic="lamp"),
                         host="127.0.0.1", port=1)
    state = light.faults.rng.getstate()
    light._on_message("cmnd/lamp/POWER", b"ON")  # noqa: SLF001
    assert light.commands() == [("cmnd/lamp/POWER", "ON")]
    assert light.faults.rng.getstate() == state
    await light.stop()


def test_a_serial_request_can_be_lost_too(tmp_path: Path) -> None:
    widget = DmxWidgetSimulator("dmx", PtyLink(tmp_path / "dmx"))
    widget.faults.drop_commands = 1.0
    widget._on_data(b"\x7e\x06\x02\x00\x00\xff\xe7")  # noqa: SLF001 - one frame, lost
    assert (widget.lost, widget.frames) == (1, 0)
