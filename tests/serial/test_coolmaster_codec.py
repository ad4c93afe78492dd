"""The CoolMaster codec against the PRM's own examples (CoolMasterNet PRM rev 0.7, 6.1-6.2)."""

from __future__ import annotations

import pytest

from devices.conventions.coolmaster import (
    CoolMasterCodec,
    CoolMasterFraming,
    CoolMasterOptions,
    parse_status_line,
    status_line,
)
from devices.errors import DecodeError, UnsupportedCommand
from devices.model import Update

OPTIONS = CoolMasterOptions(convention="coolmaster", port="ac_gateway", unit="L2.102")


def codec() -> CoolMasterCodec:
    return CoolMasterCodec("vip_room_ac", "climate", OPTIONS)


def wire(messages: list[object]) -> list[tuple[str, bytes]]:
    return [(m.topic, m.payload) for m in messages]  # type: ignore[attr-defined]


def test_commands_are_lines_for_the_unit_then_its_status() -> None:
    assert wire(codec().encode({"power": True, "mode": "cool", "setpoint": 24, "fan": "high"})) \
        == [("L2.102/cool", b"cool L2.102\r\n"), ("L2.102/temp", b"temp L2.102 24\r\n"),
            ("L2.102/fspeed", b"fspeed L2.102 h\r\n"), ("L2.102/on", b"on L2.102\r\n"),
            ("L2.102/ls2", b"ls2 L2.102\r\n")]
    assert wire(codec().encode({"setpoint": 23.5})) == [
        ("L2.102/temp", b"temp L2.102 23.5\r\n"), ("L2.102/ls2", b"ls2 L2.102\r\n")]
    assert wire(codec().encode({"mode": "off"})) == [
        ("L2.102/off", b"off L2.102\r\n"), ("L2.102/ls2", b"ls2 L2.102\r\n")]
    assert wire(codec().encode({"mode": "fan_only", "fan": "auto"}))[:2] == [
        ("L2.102/fan", b"fan L2.102\r\n"), ("L2.102/fspeed", b"fspeed L2.102 a\r\n")]


def test_a_working_mode_means_running_and_off_means_power_off() -> None:
    c = codec()
    assert c.confirmation({"mode": "heat"}) == {"mode": "heat", "power": True}
    assert c.confirmation({"mode": "off"}) == {"power": False}
    assert c.confirmation({"mode": "dry", "power": False}) == {"mode": "dry", "power": False}
    for bad in ({"mode": "off", "power": True}, {"mode": "turbo"}, {"setpoint": "24"},
                {"setpoint": float("nan")}, {"fan": "top"}, {"power": "on"}, {"volume": 3}):
        with pytest.raises(UnsupportedCommand):
            c.encode(bad)


def test_ls2_reply_from_the_prm() -> None:
    # PRM p.39: ">ls L2.101 / L2.101 ON 25.7C 27.2C Low Cool OK - 1 / OK" (ls2 form).
    reply = b"L2.102 ON 25.7C 27.2C Low Cool OK - 1\r\nOK\r\n>"
    assert CoolMasterFraming().reply_length(reply + b"junk") == len(reply)
    update = codec().decode("L2.102/ls2", reply)
    assert update == Update(state={"power": True, "setpoint": 25.7, "fan": "low",
                                   "mode": "cool"}, available=True)


def test_ls_reply_and_fahrenheit() -> None:
    # PRM p.16: "L2.102 OFF 20C 27C Auto Cool OK - 0"; p.39: "... ON 062.4F 080.6F High ...".
    assert parse_status_line("t", "L2.102 OFF 20C 27C Auto Cool OK - 0") == {
        "power": False, "setpoint": 20.0, "fan": "auto", "mode": "cool"}
    assert parse_status_line("t", "L1.102 ON 062.4F 080.6F High Cool OK - 0") == {
        "power": True, "setpoint": 16.9, "fan": "high", "mode": "cool"}
    # pycoolmasternet's example line: VLow/Top and Fan have no exact vipctl names.
    assert parse_status_line("t", "L7.001 ON  073.0F 077.7F Top  Fan  OK   - 0")["mode"] == \
        "fan_only"


def test_status_lines_the_simulator_prints_read_back() -> None:
    state = {"power": True, "mode": "dry", "setpoint": 23.5, "fan": "medium"}
    for decimals in (True, False):
        line = status_line("L2.102", state, decimals=decimals)
        parsed = parse_status_line("t", line)
        assert parsed["mode"] == "dry" and parsed["fan"] == "medium" and parsed["power"] is True
    assert status_line("L2.102", state).startswith("L2.102 ON  23.5C 25.0C Med  Dry  OK")


def test_ok_without_status_says_nothing_and_errors_are_refusals() -> None:
    c = codec()
    assert c.decode("L2.102/on", b"OK\r\n>") is None
    assert c.decode("L2.102/on", b">OK\r\n>") is None  # a stray prompt before the reply
    for reply in (b"ERROR:1\r\n>", b"No UID\r\n>", b"Bad Format\r\n>", b"Bad parameters\r\n>"):
        with pytest.raises(DecodeError, match="the gateway answered"):
            c.decode("L2.102/temp", reply)


def test_a_gateway_without_ls2_is_asked_with_ls() -> None:
    c = codec()
    assert c.query()[0].payload == b"ls2 L2.102\r\n"
    assert c.decode("L2.102/ls2", b"Unknown command\r\n>") is None
    assert wire(c.query()) == [("L2.102/ls", b"ls L2.102\r\n")]
    assert c.encode({"power": False})[-1].payload == b"ls L2.102\r\n"
    with pytest.raises(DecodeError):  # an unknown command otherwise is a refusal
        c.decode("L2.102/fspeed", b"Unknown command\r\n>")


def test_echo_is_tolerated_and_other_units_ignored() -> None:
    c = codec()
    reply = b"ls2 L2.102\r\nL2.102 OFF 20.0C 27.3C High Cool OK - 0\r\nOK\r\n>"
    assert c.decode("L2.102/ls2", reply) is not None
    assert c.decode("L2.103/ls2", reply) is None  # another unit's reply


@pytest.mark.parametrize("reply", [
    b"", b">", b"\xff\xfe\r\n>", b"L2.102 ON\r\nOK\r\n>",
    b"L2.102 ON 25C 27C Low Cool OK - 1 x y\r\nOK\r\n>",
    b"L2.102 MAYBE 25C 27C Low Cool OK - 1\r\nOK\r\n>",
    b"L2.102 ON hot 27C Low Cool OK - 1\r\nOK\r\n>",
    b"L2.103 ON 25C 27C Low Cool OK - 1\r\nOK\r\n>", b"x" * 5000,
])
def test_malformed_status_replies_are_decode_errors(reply: bytes) -> None:
    with pytest.raises(DecodeError):
        codec().decode("L2.102/ls2", reply)


def test_framing_waits_for_the_prompt() -> None:
    f = CoolMasterFraming()
    assert f.reply_length(b"L2.102 ON 25.7C 27.2C Low Cool OK - 1\r\nOK") is None
    assert f.reply_length(b"OK\r\n") is None
    assert f.reply_length(b"OK\r\n>") == 5
    assert f.reply_length(b"x" * 5000) == 5000  # no prompt in sight: take it, reject it
