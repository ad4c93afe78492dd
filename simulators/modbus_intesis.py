"""A simulated Intesis-style Modbus RTU gateway: pymodbus's own serial server.

pymodbus's ModbusSerialServer serves the holding registers (one SimDevice per slave address)
on an inner pseudo-terminal; this simulator relays the bytes between that pty and the link
vipctl opens, which is where the fault knobs act (late, garbled or no replies, the port
vanishing). The register map is devices/conventions/modbus_intesis.py's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import tty
from collections.abc import Mapping
from functools import partial

from pymodbus.constants import ExcCodes
from pymodbus.framer import FramerRTU
from pymodbus.pdu import DecodePDU
from pymodbus.server import ModbusSerialServer
from pymodbus.simulator import DataType, SimData, SimDevice

from devices.conventions.modbus_intesis import (
    REG_SETPOINT,
    SETPOINT_UNKNOWN,
    IntesisModbusOptions,
    registers_to_state,
    state_to_registers,
)
from devices.conventions.modbus_rtu import GARBAGE_ERRORS
from devices.model import FAN, MODE, POWER, SETPOINT, State, StateValue
from simulators.serial_link import Link, SerialSimulator

log = logging.getLogger(__name__)

# Holding registers each simulated slave has (0-4 control and status, the rest zero).
REGISTERS = 64
# A unit as it leaves the factory: off, cooling at 25 °C, fan on auto.
DEFAULT_STATE: dict[str, StateValue] = {POWER: False, MODE: "cool", SETPOINT: 25.0, FAN: "auto"}
# The line settings of the inner pty (the server insists on some; a pty ignores them).
INNER_BAUDRATE = 9600


class IntesisModbusSimulator(SerialSimulator):
    """`units`: slave address → the options vipctl's device uses for it."""

    def __init__(self, name: str, link: Link, units: Mapping[int, IntesisModbusOptions]) -> None:
        super().__init__(name, link)
        self.options = dict(units)
        self.registers: dict[int, list[int]] = {}
        for address, options in self.options.items():
            regs = [0] * REGISTERS
            regs[REG_SETPOINT] = SETPOINT_UNKNOWN & 0xFFFF
            for reg, value in state_to_registers(DEFAULT_STATE, options).items():
                regs[reg] = value & 0xFFFF
            self.registers[address] = regs
        self._server: ModbusSerialServer | None = None
        self._inner: tuple[int, int] | None = None  # (master, slave) of the inner pty
        self._from_server = b""
        self._requests = FramerRTU(DecodePDU(True))  # the server side: reads requests
        self._replies = FramerRTU(DecodePDU(False))

    def state(self, address: int) -> dict[str, StateValue]:
        return registers_to_state(self.registers[address][:5], self.options[address])

    async def change_locally(self, address: int, state: State) -> None:
        """Someone at the wall controller: registers change, vipctl learns by polling.
        (Before start(), this is the state the gateway starts with.)"""
        for reg, value in state_to_registers(state, self.options[address]).items():
            if self._server is None:
                self.registers[address][reg] = value & 0xFFFF
            else:
                await self._server.async_setValues(address, 6, reg, [value & 0xFFFF])

    # --- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        master, slave = os.openpty()
        tty.setraw(slave)
        os.set_blocking(master, False)
        self._inner = (master, slave)
        devices = [SimDevice(id=address, action=partial(self._registers_touched, address), simdata=[
            SimData(address=0, values=list(regs), datatype=DataType.REGISTERS)])
            for address, regs in self.registers.items()]
        self._server = ModbusSerialServer(devices, port=os.ttyname(slave),
                                          baudrate=INNER_BAUDRATE)
        await self._server.serve_forever(background=True)
        asyncio.get_running_loop().add_reader(master, self._server_wrote)
        await super().start()

    async def stop(self) -> None:
        await super().stop()
        if self._server is not None:
            await self._server.shutdown()  # type: ignore[no-untyped-call]
            self._server = None
        if self._inner is not None:
            master, slave = self._inner
            self._inner = None
            asyncio.get_running_loop().remove_reader(master)
            for fd in (master, slave):
                with contextlib.suppress(OSError):
                    os.close(fd)

    # --- the relay ---------------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        pdu = None
        with contextlib.suppress(*GARBAGE_ERRORS):  # noise is relayed all the same
            _, pdu = self._requests.handleFrame(data, 0, 0)
        if pdu is not None:
            values = getattr(pdu, "registers", [])
            what = f"write {pdu.address}={values[0]}" if pdu.function_code == 6 and values \
                else f"read {pdu.address}+{getattr(pdu, 'count', 0)}"
            self.record(str(pdu.dev_id), what)
        if self.faults.ignore_commands or self._inner is None:
            return
        with contextlib.suppress(OSError):
            os.write(self._inner[0], data)

    def _server_wrote(self) -> None:
        if self._inner is None:
            return
        try:
            self._from_server += os.read(self._inner[0], 4096)
        except OSError:
            return
        while self._from_server:
            used, _, _, frame = self._replies.decode(self._from_server)
            if not used:
                return
            reply, self._from_server = self._from_server[:used], self._from_server[used:]
            if frame:
                self.answer(reply)

    async def _registers_touched(
        self, slave: int, function_code: int, start_address: int, address: int, count: int,
        current_registers: list[int], set_values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        """pymodbus calls this on every access: keep the mirror of each slave's registers."""
        if set_values is not None:
            for i, value in enumerate(set_values):
                self.registers[slave][address + i] = int(value)
        return None
