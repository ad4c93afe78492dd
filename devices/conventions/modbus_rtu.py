"""Modbus RTU on a serial line, through pymodbus's framer and PDU classes.

pymodbus builds the frames (address, function code, data, CRC-16) and parses the replies;
the port (devices/transports/serial.py) owns the line. Requests are named `<address>/read`
and `<address>/write`, so the units on one RS-485 line each see their own replies.
"""

from __future__ import annotations

import struct

from pymodbus.exceptions import ModbusException
from pymodbus.framer import FramerRTU
from pymodbus.pdu import DecodePDU, ExceptionResponse, ModbusPDU
from pymodbus.pdu.register_message import (
    ReadHoldingRegistersRequest,
    ReadHoldingRegistersResponse,
    WriteSingleRegisterRequest,
    WriteSingleRegisterResponse,
)

from devices.errors import DecodeError

# Modbus exception codes (Modbus Application Protocol V1.1b3, section 7).
EXCEPTION_NAMES = {1: "illegal function", 2: "illegal data address", 3: "illegal data value",
                   4: "server device failure", 6: "server device busy"}
# Address 0 is broadcast: every slave acts, none answers.
BROADCAST = 0
# The longest RTU frame (Modbus over Serial Line V1.02, 2.5.1): 256 bytes; the shortest
# reply is an exception: address, function, code, CRC.
MAX_FRAME = 256
MIN_FRAME = 5


def _framer() -> FramerRTU:
    return FramerRTU(DecodePDU(False))  # False: the client side, which decodes responses


def read_holding(address: int, start: int, count: int) -> bytes:
    """Function 03: read `count` holding registers from `start`."""
    return _framer().buildFrame(ReadHoldingRegistersRequest(
        address=start, count=count, dev_id=address))


def write_register(address: int, register: int, value: int) -> bytes:
    """Function 06: write one holding register (16-bit, two's complement if negative)."""
    return _framer().buildFrame(WriteSingleRegisterRequest(
        address=register, registers=[value & 0xFFFF], dev_id=address))


def to_signed(value: int) -> int:
    return value - 0x10000 if value & 0x8000 else value


class ModbusRtuFraming:
    """A reply ends where pymodbus's RTU framer finds a whole frame (or a bad CRC)."""

    def outgoing(self, topic: str, payload: bytes) -> bytes:
        return payload

    def expects_reply(self, topic: str) -> bool:
        return not topic.startswith(f"{BROADCAST}/")

    def reply_length(self, buffer: bytes) -> int | None:
        """The frame's size from its function code (and byte count), as pymodbus reckons
        it; the port flushed the line before asking, so the reply starts the buffer."""
        if len(buffer) > MAX_FRAME:
            return len(buffer)
        if len(buffer) < MIN_FRAME:
            return None
        try:
            pdu_class = DecodePDU(False).lookupPduClass(buffer)
            size = pdu_class.calculateRtuFrameSize(buffer) if pdu_class else len(buffer)
        except GARBAGE_ERRORS:  # pymodbus on garbage: take it all, the codec rejects it
            return len(buffer)
        if not size:
            return None
        return size if len(buffer) >= size else None

    def refresh(self) -> bytes | None:
        return None


# What pymodbus raises when it reads garbage (200,000 random frames raised IndexError; its
# own errors and struct's are for frames that look right until a field does not).
GARBAGE_ERRORS = (ModbusException, struct.error, IndexError, KeyError, ValueError)


def parse_reply(topic: str, payload: bytes, address: int) -> ModbusPDU:
    """The response PDU in one reply; DecodeError for a bad CRC, a stranger or an exception."""
    framer = _framer()
    try:
        _, dev_id, _, pdu_bytes = framer.decode(payload)
        pdu = framer.decoder.decode(pdu_bytes) if pdu_bytes else None
    except GARBAGE_ERRORS as exc:
        raise DecodeError(topic, f"not a Modbus RTU frame: {exc}", payload[:64]) from None
    if pdu is None:
        raise DecodeError(topic, "not a Modbus RTU frame (bad CRC or length)", payload[:64])
    if dev_id != address:
        raise DecodeError(topic, f"reply from address {dev_id}, not {address}")
    if isinstance(pdu, ExceptionResponse):
        code = pdu.exception_code
        raise DecodeError(topic, f"exception {code} ({EXCEPTION_NAMES.get(code, 'unknown')}) "
                                 f"to function {pdu.function_code & 0x7F}")
    return pdu


def read_registers(topic: str, payload: bytes, address: int, count: int) -> list[int]:
    pdu = parse_reply(topic, payload, address)
    if not isinstance(pdu, ReadHoldingRegistersResponse) or len(pdu.registers) != count:
        raise DecodeError(topic, f"expected {count} holding registers, got {pdu}")
    return list(pdu.registers)


def check_write_echo(topic: str, payload: bytes, address: int) -> None:
    pdu = parse_reply(topic, payload, address)
    if not isinstance(pdu, WriteSingleRegisterResponse):
        raise DecodeError(topic, f"expected the echo of a register write, got {pdu}")
