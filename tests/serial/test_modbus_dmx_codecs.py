"""The Intesis Modbus and DMX codecs against documented frames, and garbage into every codec
and framing: only DecodeError (or nothing) comes out, never a crash."""

from __future__ import annotations

import contextlib
import random

import pytest
from pymodbus.framer import FramerRTU
from pymodbus.pdu import DecodePDU, ExceptionResponse

from devices.conventions.coolmaster import CoolMasterCodec, CoolMasterFraming
from devices.conventions.dmx import (
    DmxCodec,
    DmxOptions,
    DmxUniverse,
    decode_levels,
    dmx_frame,
    split_messages,
)
from devices.conventions.modbus_intesis import (
    IntesisModbusCodec,
    IntesisModbusOptions,
    registers_to_state,
)
from devices.conventions.modbus_rtu import ModbusRtuFraming, read_holding, write_register
from devices.conventions.serial_base import Framing
from devices.errors import DecodeError, UnsupportedCommand
from devices.model import Update
from tests.serial.rig import COOLMASTER

INTESIS = IntesisModbusOptions(convention="intesis-modbus", port="rs485", address=17)


def test_rtu_frames_match_the_documented_examples() -> None:
    # Simply Modbus (simplymodbus.ca), function 03 and 06 examples, slave 17 (0x11).
    assert read_holding(0x11, 0x6B, 3) == bytes.fromhex("11 03 00 6B 00 03 76 87")
    assert write_register(0x11, 1, 3) == bytes.fromhex("11 06 00 01 00 03 9A 9B")
    reply = bytes.fromhex("11 03 06 AE41 5652 4340 49AD")  # its function 03 response
    assert ModbusRtuFraming().reply_length(reply + b"\x00") == len(reply)
    assert ModbusRtuFraming().reply_length(reply[:-1]) is None


def test_intesis_registers_written_then_read_back() -> None:
    codec = IntesisModbusCodec("vip_room_ac", "climate", INTESIS)
    messages = codec.encode({"power": True, "mode": "cool", "setpoint": 24, "fan": "high"})
    # mode 4 (cool), fan 3 (high of 3 speeds), setpoint 240 (x10), on, then read 0-4.
    assert [(m.topic, m.payload) for m in messages] == [
        ("17/write", write_register(17, 1, 4)), ("17/write", write_register(17, 2, 3)),
        ("17/write", write_register(17, 4, 240)), ("17/write", write_register(17, 0, 1)),
        ("17/read", read_holding(17, 0, 5))]
    assert codec.confirmation({"mode": "off"}) == {"power": False}
    assert codec.decode("17/write", write_register(17, 0, 1)) is None  # the echo
    status = bytes.fromhex("11 03 0A 0001 0004 0003 0000 00F0")
    status += FramerRTU.compute_CRC(status).to_bytes(2, "big")
    assert codec.decode("17/read", status) == Update(
        state={"power": True, "mode": "cool", "fan": "high", "setpoint": 24.0}, available=True)


def test_intesis_register_values_without_a_vipctl_name() -> None:
    # -32768 (0x8000) is "not known yet" (manual 4.2.1); mode 7 does not exist.
    assert registers_to_state([0, 7, 2, 0, 0x8000], INTESIS) == {"power": False,
                                                                 "fan": "medium"}
    five = INTESIS.model_copy(update={"fan_speeds": 5, "setpoint_scale": 1})
    assert registers_to_state([1, 1, 4, 0, 21], five) == {"power": True, "mode": "heat",
                                                          "fan": "medium", "setpoint": 21.0}
    two = INTESIS.model_copy(update={"fan_speeds": 2})
    with pytest.raises(UnsupportedCommand):
        IntesisModbusCodec("ac", "climate", two).encode({"fan": "medium"})


def test_modbus_exceptions_strangers_and_bad_crcs_are_decode_errors() -> None:
    codec = IntesisModbusCodec("vip_room_ac", "climate", INTESIS)
    exception = FramerRTU(DecodePDU(False)).buildFrame(ExceptionResponse(6, 2, device_id=17))
    with pytest.raises(DecodeError, match="illegal data address"):
        codec.decode("17/write", exception)
    with pytest.raises(DecodeError, match="address 18"):
        codec.decode("17/write", write_register(18, 0, 1))
    bad_crc = bytearray(write_register(17, 0, 1))
    bad_crc[-1] ^= 0xFF
    with pytest.raises(DecodeError):
        codec.decode("17/write", bytes(bad_crc))
    with pytest.raises(DecodeError):  # a write echo where registers were asked for
        codec.decode("17/read", write_register(17, 0, 1))


def test_dmx_frame_is_the_enttec_label_6_message() -> None:
    # ENTTEC support forum, topic 101000613270: a whole universe is
    # 7E 06 01 02 00 <512 levels> E7 (length 513 = 0x0201, start code 0).
    frame = dmx_frame(bytes(range(256)) * 2)
    assert frame[:5] == bytes.fromhex("7E 06 01 02 00")
    assert frame[-1] == 0xE7
    assert frame[5:-1] == bytes(range(256)) * 2
    assert dmx_frame(b"\xff")[:5] == bytes.fromhex("7E 06 19 00 00")  # padded to 24 channels


def test_dmx_lights_share_the_port_universe() -> None:
    universe = DmxUniverse()
    model = DmxCodec("model_area_lights", "light",
                     DmxOptions(convention="dmx", port="dmx", channels=[1, 2, 3]))
    spots = DmxCodec("spotlights", "switch", DmxOptions(convention="dmx", port="dmx",
                                                         channels=[10]))
    [m] = model.encode({"brightness": 50})
    assert (m.topic, m.payload) == ("dmx1/levels", b"1=128 2=128 3=128")
    universe.outgoing(m.topic, m.payload)
    [s] = spots.encode({"power": True})
    frame = universe.outgoing(s.topic, s.payload)
    assert list(frame[5:15]) == [128, 128, 128, 0, 0, 0, 0, 0, 0, 255]
    assert universe.refresh() == frame  # the same universe again, every refresh
    [m] = model.encode({"power": False})
    assert m.payload == b"1=0 2=0 3=0"
    [m] = model.encode({"power": True})  # back on at the last level
    assert m.payload == b"1=128 2=128 3=128"
    assert model.decode("$port", b"online") == Update(
        available=True, state={"power": True, "brightness": 50})
    for bad in ({"brightness": 0}, {"brightness": 101}, {"mode": "cool"}):
        with pytest.raises(UnsupportedCommand):
            model.encode(bad)
    with pytest.raises(UnsupportedCommand):
        spots.encode({"brightness": 50})


def test_widget_side_finds_frames_among_noise() -> None:
    frame = dmx_frame(b"\x10\x20")
    messages, rest = split_messages(b"\x00\x7e\xff" + frame + b"\x7e\x06\x02" + frame[:7])
    assert messages == [(6, frame[4:-1])]
    assert rest == frame[:7]
    with pytest.raises(DecodeError):
        decode_levels("dmx1/levels", b"1=256")
    with pytest.raises(DecodeError):
        decode_levels("dmx1/levels", b"0=1")


FRAMINGS: list[Framing] = [CoolMasterFraming(), ModbusRtuFraming(), DmxUniverse()]


@pytest.mark.parametrize("seed", range(4))
def test_random_bytes_never_crash_a_codec_or_framing(seed: int) -> None:
    rng = random.Random(seed)
    codecs = [CoolMasterCodec("a", "climate", COOLMASTER),
              IntesisModbusCodec("b", "climate", INTESIS),
              DmxCodec("c", "light", DmxOptions(convention="dmx", port="d", channels=[1]))]
    topics = ["L1.100/ls2", "L1.100/ls", "L1.100/on", "17/read", "17/write", "dmx1/levels",
              "$port", "L1.100/$status", "17/$status"]
    alphabet = [b"\r\n", b">", b"OK", b"L1.100 ", b"ON ", b"24.0C ", b"\x7e", b"\xe7", b"\x11",
                b"\x03", b"\x00"]
    for _ in range(300):
        if rng.random() < 0.5:
            payload = rng.randbytes(rng.randrange(0, 64))
        else:
            payload = b"".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 12)))
        for framing in FRAMINGS:
            length = framing.reply_length(payload)
            assert length is None or 0 < length <= len(payload)
        for codec in codecs:
            for topic in topics:
                with contextlib.suppress(DecodeError):
                    codec.decode(topic, payload)
