"""One serial device on a real pty or socket: its simulator, its port, the Device."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pymodbus.framer import FramerRTU
from pymodbus.pdu import DecodePDU

from devices.conventions.coolmaster import CoolMasterCodec, CoolMasterOptions
from devices.conventions.dmx import FULL, DmxCodec, DmxOptions
from devices.conventions.modbus_intesis import IntesisModbusCodec, IntesisModbusOptions
from devices.conventions.serial_base import SerialCodec, SerialOptions
from devices.device import Device, DeviceEvent
from devices.kinds import make_device
from devices.model import BRIGHTNESS, POWER, Kind, Message, StateValue
from devices.transports.serial import SerialPort, SerialSettings
from simulators.coolmaster import CoolMasterSimulator
from simulators.dmx import DmxWidgetSimulator
from simulators.modbus_intesis import IntesisModbusSimulator
from simulators.serial_link import Link, PtyLink, SerialSimulator, SocketLink
from tests.contract.contract import CaseRig, Policy
from tests.waiting import QUIET_S

# Short enough that a lost reply shows within the test's patience, long enough for a loaded
# machine (a pty round trip is well under a millisecond).
REPLY_TIMEOUT_S = 0.3
# Reopen quickly: the tests pull ports and put them back.
REOPEN = {"reopen_min": 0.05, "reopen_max": 0.3}


@dataclass(frozen=True)
class Case:
    id: str
    kind: Kind
    options: SerialOptions
    link: Literal["pty", "socket"]
    initial: dict[str, StateValue] = field(default_factory=dict)
    desired: dict[str, StateValue] = field(default_factory=dict)


CLIMATE_INITIAL: dict[str, StateValue] = {"power": False, "mode": "heat", "setpoint": 20.0,
                                          "fan": "low"}
CLIMATE_DESIRED: dict[str, StateValue] = {"power": True, "mode": "cool", "setpoint": 24.0,
                                          "fan": "high"}
COOLMASTER = CoolMasterOptions(convention="coolmaster", port="ac_gateway", unit="L1.100")
INTESIS = IntesisModbusOptions(convention="intesis-modbus", port="rs485", address=3)
DMX_LIGHT = DmxOptions(convention="dmx", port="dmx_widget", channels=[1, 2, 3])
DMX_SWITCH = DmxOptions(convention="dmx", port="dmx_widget", channels=[17])

CASES = [
    Case("coolmaster-pty", "climate", COOLMASTER, "pty", CLIMATE_INITIAL, CLIMATE_DESIRED),
    Case("coolmaster-socket", "climate", COOLMASTER, "socket", CLIMATE_INITIAL,
         CLIMATE_DESIRED),
    Case("intesis-modbus-pty", "climate", INTESIS, "pty", CLIMATE_INITIAL, CLIMATE_DESIRED),
    Case("intesis-modbus-socket", "climate", INTESIS, "socket", CLIMATE_INITIAL,
         CLIMATE_DESIRED),
    Case("dmx-light-socket", "light", DMX_LIGHT, "socket", {}, {"power": True,
                                                               "brightness": 80}),
    Case("dmx-switch-pty", "switch", DMX_SWITCH, "pty", {}, {"power": True}),
]

CODECS: dict[str, type[SerialCodec]] = {  # type: ignore[type-arg]
    "coolmaster": CoolMasterCodec, "intesis-modbus": IntesisModbusCodec, "dmx": DmxCodec}


def make_link(kind: str, tmp_path: Path, name: str) -> Link:
    return PtyLink(tmp_path / name) if kind == "pty" else SocketLink()


def make_simulator(options: SerialOptions, link: Link) -> SerialSimulator:
    if isinstance(options, CoolMasterOptions):  # a gateway with a second unit besides ours
        return CoolMasterSimulator(options.port, link, [options.unit, "L1.101"])
    if isinstance(options, IntesisModbusOptions):
        return IntesisModbusSimulator(options.port, link, {options.address: options})
    return DmxWidgetSimulator(options.port, link)


@dataclass
class SerialRig(CaseRig):
    case: Case
    sim: SerialSimulator
    port: SerialPort
    device: Device
    events: list[DeviceEvent]

    # --- what tests/contract/contract.py asks of a rig ---------------------------------

    @property
    def reads_state(self) -> bool:
        return self.device.codec.can_report

    async def act(self) -> bool:
        return (await self.device.command(self.case.desired)).ok

    def sim_state(self) -> dict[str, StateValue]:
        options, sim = self.case.options, self.sim
        if isinstance(sim, CoolMasterSimulator) and isinstance(options, CoolMasterOptions):
            return sim.units[options.unit]
        if isinstance(sim, IntesisModbusSimulator) and isinstance(options, IntesisModbusOptions):
            return sim.state(options.address)
        assert isinstance(sim, DmxWidgetSimulator) and isinstance(options, DmxOptions)
        levels = set(sim.levels(options.channels))
        assert len(levels) == 1, f"a light's channels differ: {levels}"
        level = levels.pop()
        if self.kind == "switch":
            return {POWER: level == FULL}
        return {POWER: level > 0, BRIGHTNESS: round(level * 100 / FULL)} if level else {
            POWER: False}

    def attempts_on_wire(self) -> float:
        """The first request of the command, as the simulator recorded it, counted."""
        first = wire_text(self.device.codec.encode(self.case.desired)[0])
        return sum(payload == first for _, payload in self.sim.commands())

    async def go_offline(self) -> None:
        await self.sim.vanish()

    async def come_back(self) -> None:
        await self.sim.come_back()

    async def change_by_hand(self, state: dict[str, StateValue]) -> None:
        options, sim = self.case.options, self.sim
        if isinstance(sim, CoolMasterSimulator) and isinstance(options, CoolMasterOptions):
            sim.change_locally(options.unit, state)
        elif isinstance(sim, IntesisModbusSimulator) and isinstance(
                options, IntesisModbusOptions):
            await sim.change_locally(options.address, state)

    async def send_garbage(self) -> None:
        self.sim.send_garbage(b"\xff\x00\x7e\x06\xff\xffnoise\r\n>")  # unasked, between requests
        self.sim.faults.garble = True
        await self.device.refresh()  # answered, garbled

    def stop_garbage(self) -> None:
        self.sim.faults.garble = False

    async def caught_up(self) -> None:
        if self.device.codec.query():
            # One request at a time, answered in order: once this one is, all before it were.
            await self.device.refresh()
        else:
            # A DMX widget answers nothing, so no round trip can show that what it sent was
            # read: a quiet period instead (not a settle: nothing is awaited but time).
            await asyncio.sleep(QUIET_S)


def wire_text(message: Message) -> str:
    """A request as the simulators record it."""
    if message.payload.endswith(b"\r\n"):  # CoolMaster: the command line
        return message.payload.decode().strip()
    _, pdu = FramerRTU(DecodePDU(True)).handleFrame(message.payload, 0, 0)
    assert pdu is not None
    if pdu.function_code == 6:
        return f"write {pdu.address}={pdu.registers[0]}"
    return f"read {pdu.address}+{pdu.count}"


@asynccontextmanager
async def serial_rig(case: Case, tmp_path: Path, **settings: float) -> AsyncIterator[SerialRig]:
    sim = make_simulator(case.options, make_link(case.link, tmp_path, case.id))
    if case.initial:
        await SerialRig(case, sim, None, None, []).change_by_hand(  # type: ignore[arg-type]
            case.initial)
    await sim.start()
    codec = CODECS[case.options.convention](case.id, case.kind, case.options)  # type: ignore[attr-defined]
    port = SerialPort(case.options.port, SerialSettings(
        url=sim.url, **{"reply_timeout": REPLY_TIMEOUT_S, "poll_interval": 60.0, **REOPEN,
                        **settings}), codec.make_framing())
    events: list[DeviceEvent] = []
    device = make_device(case.id, kind=case.kind, codec=codec, transport=port, policy=Policy(),
                    listener=events.append)
    device.attach()
    await port.start()
    try:
        await port.wait_connected(5)
        yield SerialRig(case, sim, port, device, events)
    finally:
        await port.close()
        await sim.stop()
