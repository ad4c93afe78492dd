"""TasmotaCodec against Tasmota's documented payloads, and against garbage."""

from __future__ import annotations

import json

import pytest

from devices.conventions.tasmota import CODEC, TasmotaCodec, TasmotaOptions
from devices.errors import DecodeError, UnsupportedCommand
from devices.model import Kind, Message, Update, matches

# https://tasmota.github.io/docs/MQTT/#command-flow (topic tasmota_switch), verbatim.
DOC_QUERY_RESULT = b'{"POWER":"OFF"}'
DOC_TOGGLE_RESULT = b'{"POWER":"ON"}'
# https://tasmota.github.io/docs/Berry/ (tasmota.cmd("Dimmer 50")), verbatim.
DOC_DIMMER_RESULT = (
    b'{"POWER":"ON","Dimmer":50,"Color":"808080","HSBColor":"0,0,50","Channel":[50,50,50]}'
)
# tele/atomlite2/STATE, quoted in the Tasmota authors' Devices_Online Berry app, verbatim.
DOC_TELE_STATE = (
    b'{"Time":"2025-09-24T14:13:00","Uptime":"0T00:15:09","UptimeSec":909,"Heap":142,'
    b'"SleepMode":"Dynamic","Sleep":50,"LoadAvg":19,"MqttCount":1,"Berry":{"HeapUsed":12,'
    b'"Objects":167},"POWER":"OFF","Dimmer":10,"Color":"1A0000","HSBColor":"0,100,10",'
    b'"Channel":[10,0,0],"Scheme":0,"Width":1,"Fade":"OFF","Speed":1,"LedTable":"ON",'
    b'"Wifi":{"AP":1,"SSId":"indebuurt_IoT","BSSId":"18:E8:29:CA:17:C1","Channel":11,'
    b'"Mode":"HT40","RSSI":100,"Signal":-28,"LinkCount":1,"Downtime":"0T00:00:04"},'
    b'"Hostname":"atomlite2","IPAddress":"192.168.2.208"}'
)
# https://tasmota.github.io/docs/Tasmota-IR/ "Example of HVAC message" (the docs publish them
# on tele/tasmota/IR1/RESULT; firmware's default is tele/<topic>/RESULT), verbatim.
DOC_IR_MITSUBISHI = (
    b'{"IrReceived":{"Protocol":"MITSUBISHI_HEAVY_152","Bits":152,"Data":"0xAD513CE51A08F705FA'
    b'02FDC03F08F700FF807F","Repeat":0,"IRHVAC":{"Vendor":"MITSUBISHI_HEAVY_152","Model":-1,'
    b'"Power":"on","Mode":"auto","Celsius":"on","Temp":22,"FanSpeed":"medium","SwingV":"off",'
    b'"SwingH":"off","Quiet":"off","Turbo":"off","Econo":"off","Light":"off","Filter":"off",'
    b'"Clean":"off","Beep":"off","Sleep":-1}}}'
)
DOC_IR_COOLIX = (
    b'{"IrReceived":{"Protocol":"COOLIX","Bits":24,"Data":"0xB25F78","DataLSB":"0x4DFA1E",'
    b'"Repeat":0,"IRHVAC":{"Vendor":"COOLIX","Model":-1,"Power":"on","Mode":"auto","Celsius":'
    b'"on","Temp":22,"FanSpeed":"medium","SwingV":"off","SwingH":"off","Quiet":"off","Turbo":'
    b'"off","Econo":"off","Light":"on","Filter":"off","Clean":"on","Beep":"off","Sleep":-1}}}'
)
DOC_IR_PIONEER = (  # a TV remote: no IRHVAC in it
    b'{"IrReceived":{"Protocol":"PIONEER","Bits":64,"Data":"0xA55A50AFA55A50AF",'
    b'"DataLSB":"0xA55A0AF5A55A0AF5","Repeat":0}}'
)
DOC_WRONG_VENDOR = (  # the Tasmota-IR docs' answer to IRHVAC {"Vendor":"xx"}
    b'{"IRHVAC":"Wrong Vendor (COOLIX|DAIKIN|KELVINATOR|MITSUBISHI_AC|GREE|ARGO|TROTEC|'
    b"TOSHIBA_AC|FUJITSU_AC|MIDEA|HAIER_AC|HITACHI_AC|HAIER_AC_YRW02|WHIRLPOOL_AC|SAMSUNG_AC|"
    b"ELECTRA_AC|PANASONIC_AC|DAIKIN2|VESTEL_AC|TECO|TCL112AC|MITSUBISHI_HEAVY_88|"
    b"MITSUBISHI_HEAVY_152|DAIKIN216|SHARP_AC|GOODWEATHER|DAIKIN160|NEOCLIMA|DAIKIN176|"
    b'DAIKIN128|AMCOR)"}'
)
# The echo of IRHVAC, as xdrv_05_irremote_full.ino's sendACJsonState writes it.
ECHO = {"Vendor": "MITSUBISHI_HEAVY_152", "Model": -1, "Command": "Control", "Mode": "Cool",
        "Power": "On", "Celsius": "On", "Temp": 24, "FanSpeed": "Auto", "SwingV": "Auto",
        "SwingH": "Off", "Quiet": "Off", "Turbo": "Off", "Econo": "Off", "Light": "Off",
        "Filter": "Off", "Clean": "Off", "Beep": "Off", "Sleep": -1, "iFeel": "Off",
        "SensorTemp": None}


def codec(kind: Kind, topic: str = "tasmota_switch", **extra: object) -> TasmotaCodec:
    options = TasmotaOptions.model_validate({"convention": "tasmota", "topic": topic, **extra})
    return CODEC(f"dev-{kind}", kind, options)


def ac() -> TasmotaCodec:
    return codec("climate", "tasmota", irhvac_vendor="Mitsubishi_Heavy_152")


def irhvac(messages: list[Message]) -> dict[str, object]:
    assert [m.topic for m in messages] == ["cmnd/tasmota/IRHVAC"]
    result: dict[str, object] = json.loads(messages[0].payload)
    return result


# --- switch and light -----------------------------------------------------------------


def test_documented_command_flow_decodes() -> None:
    sw = codec("switch")
    off, on = Update(state={"power": False}), Update(state={"power": True})
    assert sw.decode("stat/tasmota_switch/RESULT", DOC_QUERY_RESULT) == off
    assert sw.decode("stat/tasmota_switch/POWER", b"OFF") == off
    assert sw.decode("stat/tasmota_switch/RESULT", DOC_TOGGLE_RESULT) == on
    assert sw.decode("stat/tasmota_switch/POWER", b"ON") == on


def test_light_result_and_tele_state_with_unknown_fields() -> None:
    light = codec("light", "tasmota_67B1E9")
    update = light.decode("stat/tasmota_67B1E9/RESULT", DOC_DIMMER_RESULT)
    assert update == Update(state={"power": True, "brightness": 50})
    atom = codec("light", "atomlite2")
    assert atom.decode("tele/atomlite2/STATE", DOC_TELE_STATE) == Update(
        state={"power": False, "brightness": 10}
    )
    # A switch reads POWER only, even where a Dimmer is present.
    assert codec("switch", "atomlite2").decode("tele/atomlite2/STATE", DOC_TELE_STATE) == Update(
        state={"power": False}
    )


def test_lwt_is_availability() -> None:
    sw = codec("switch")
    assert sw.decode("tele/tasmota_switch/LWT", b"Online") == Update(available=True)
    assert sw.decode("tele/tasmota_switch/LWT", b"Offline") == Update(available=False)
    with pytest.raises(DecodeError):
        sw.decode("tele/tasmota_switch/LWT", b"maybe")


def test_relay_index_selects_power_key() -> None:
    sw = codec("switch", "board", relay=2)
    assert sw.encode({"power": True}) == [Message("cmnd/board/POWER2", b"ON")]
    assert sw.decode("stat/board/RESULT", b'{"POWER1":"ON"}') is None  # another relay
    assert sw.decode("stat/board/RESULT", b'{"POWER2":"ON"}') == Update(state={"power": True})
    assert sw.decode("stat/board/POWER2", b"OFF") == Update(state={"power": False})
    assert "stat/board/POWER2" in sw.subscriptions()
    # Relay 1 (or none) also answers POWER1 on multi-relay boards and with SetOption26.
    update = codec("switch").decode("stat/tasmota_switch/POWER1", b"ON")
    assert update == Update(state={"power": True})


def test_other_results_and_devices_are_not_ours() -> None:
    sw = codec("switch")
    assert sw.decode("stat/tasmota_switch/RESULT", b'{"Command":"Unknown"}') is None
    assert sw.decode("stat/tasmota_switch/RESULT", b'{"PowerOnState":3}') is None
    assert sw.decode("stat/other/RESULT", DOC_TOGGLE_RESULT) is None
    assert sw.decode("tele/tasmota_switch/SENSOR", b"{}") is None


def test_switch_and_light_encode() -> None:
    sw = codec("switch")
    assert sw.encode({"power": False}) == [Message("cmnd/tasmota_switch/POWER", b"OFF")]
    assert sw.confirmation({"power": False}) == {"power": False}
    assert (sw.encode({}), sw.confirmation({})) == ([], {})
    with pytest.raises(UnsupportedCommand):
        sw.encode({"brightness": 50})
    light = codec("light", "lamp")
    assert light.encode({"brightness": 50}) == [Message("cmnd/lamp/Dimmer", b"50")]
    # Lights docs: a Dimmer command powers the light on, Dimmer 0 powers it off.
    assert light.confirmation({"brightness": 50}) == {"brightness": 50, "power": True}
    assert light.confirmation({"brightness": 0}) == {"brightness": 0, "power": False}
    assert light.encode({"power": False, "brightness": 30}) == [
        Message("cmnd/lamp/Dimmer", b"30"), Message("cmnd/lamp/POWER", b"OFF")]
    assert light.confirmation({"power": False, "brightness": 30}) == {"brightness": 30,
                                                                      "power": False}
    with pytest.raises(UnsupportedCommand):
        light.encode({"power": True, "brightness": 0})
    with pytest.raises(UnsupportedCommand):
        light.encode({"brightness": 150})
    with pytest.raises(UnsupportedCommand):
        light.encode({"power": "on"})


def test_queries() -> None:
    assert codec("switch").query() == [Message("cmnd/tasmota_switch/POWER", b"")]
    assert codec("switch", "b", relay=3).query() == [Message("cmnd/b/POWER3", b"")]
    assert codec("light", "lamp").query() == [Message("cmnd/lamp/STATE", b"")]
    assert ac().query() == []


@pytest.mark.parametrize(
    ("topic", "payload"),
    [
        ("stat/tasmota_switch/RESULT", b"not json"),
        ("stat/tasmota_switch/RESULT", b'["POWER","ON"]'),
        ("stat/tasmota_switch/RESULT", b'"ON"'),
        ("stat/tasmota_switch/RESULT", b'{"POWER":5}'),
        ("stat/tasmota_switch/RESULT", b'{"POWER":"MAYBE"}'),
        ("stat/tasmota_switch/RESULT", b"\xff\xfe"),
        ("stat/tasmota_switch/RESULT", b"[" * 10_000),  # under the size cap, too deep
        ("stat/tasmota_switch/RESULT", b'{"POWER":"ON","x":"' + b"a" * 1_000_000 + b'"}'),
        ("stat/tasmota_switch/POWER", b"BLINK"),
        ("stat/tasmota_switch/POWER", b""),
        ("tele/tasmota_switch/STATE", b"{"),
        ("tele/tasmota_switch/LWT", b"x" * 1_000_000),
    ],
)
def test_garbage_raises_decode_error(topic: str, payload: bytes) -> None:
    with pytest.raises(DecodeError) as info:
        codec("switch").decode(topic, payload)
    assert info.value.topic == topic


@pytest.mark.parametrize("dimmer", [b'"50"', b"150", b"-1", b"true", b"null", b"12.5"])
def test_bad_dimmer_raises(dimmer: bytes) -> None:
    payload = b'{"POWER":"ON","Dimmer":' + dimmer + b"}"
    with pytest.raises(DecodeError, match="Dimmer"):
        codec("light", "lamp").decode("stat/lamp/RESULT", payload)


# --- climate behind an IR blaster ------------------------------------------------------


def test_climate_encode_sends_full_documented_irhvac() -> None:
    conditioner = ac()
    desired = {"power": True, "mode": "cool", "setpoint": 24, "fan": "high"}
    assert irhvac(conditioner.encode(desired)) == {
        "Vendor": "MITSUBISHI_HEAVY_152", "Power": "On", "Mode": "Cool", "Celsius": "On",
        "Temp": 24, "FanSpeed": "High"}
    assert conditioner.confirmation(desired) == desired
    assert irhvac(conditioner.encode({"setpoint": 22.5}))["Temp"] == 22.5


def test_climate_echo_confirms_and_becomes_the_base_of_the_next_command() -> None:
    conditioner = ac()
    update = conditioner.decode("stat/tasmota/RESULT", json.dumps({"IRHVAC": ECHO}).encode())
    assert update == Update(state={"power": True, "mode": "cool", "setpoint": 24.0, "fan": "auto"})
    assert update is not None and matches(update.state, conditioner.confirmation({"setpoint": 24}))
    sent = irhvac(conditioner.encode({"setpoint": 26}))
    assert sent["Mode"] == "Cool" and sent["Power"] == "On" and sent["Temp"] == 26
    assert sent["SwingV"] == "Auto"  # set on the remote, carried along
    assert "Command" not in sent and "SensorTemp" not in sent


def test_remote_control_received_is_a_state_update() -> None:
    conditioner = ac()
    update = conditioner.decode("tele/tasmota/RESULT", DOC_IR_MITSUBISHI)
    assert update == Update(state={"power": True, "mode": "auto", "setpoint": 22.0,
                                   "fan": "medium"})
    sent = irhvac(conditioner.encode({"setpoint": 23}))
    assert (sent["Mode"], sent["FanSpeed"], sent["Power"], sent["Temp"]) == ("Auto", "Medium",
                                                                             "On", 23)
    # Another air conditioner's remote, or a TV remote, says nothing about this one.
    assert conditioner.decode("tele/tasmota/RESULT", DOC_IR_COOLIX) is None
    assert conditioner.decode("tele/tasmota/RESULT", DOC_IR_PIONEER) is None


def test_power_and_mode_rules() -> None:
    conditioner = ac()  # nothing heard yet: off, 25 °C, fan auto
    assert irhvac(conditioner.encode({"power": True}))["Mode"] == "Auto"  # Mode Off means off
    assert conditioner.confirmation({"power": True}) == {"power": True, "mode": "auto"}
    assert conditioner.confirmation({"mode": "heat"}) == {"power": True, "mode": "heat"}
    assert irhvac(conditioner.encode({"mode": "off"}))["Power"] == "Off"
    assert conditioner.confirmation({"mode": "off"}) == {"power": False, "mode": "off"}
    with pytest.raises(UnsupportedCommand):
        conditioner.encode({"power": True, "mode": "off"})
    for bad in ({"mode": "turbo"}, {"fan": "max"}, {"setpoint": "24"}, {"setpoint": 99},
                {"brightness": 5}):
        with pytest.raises(UnsupportedCommand):
            conditioner.encode(bad)


def test_fahrenheit_and_old_lowercase_echo() -> None:
    echo = {**ECHO, "Celsius": "Off", "Temp": 77, "Mode": "fan_only", "FanSpeed": "Max"}
    update = ac().decode("stat/tasmota/RESULT", json.dumps({"IRHVAC": echo}).encode())
    assert update == Update(state={"power": True, "mode": "fan_only", "setpoint": 25.0,
                                   "fan": "high"})


def test_climate_refusals_and_garbage() -> None:
    conditioner = ac()
    with pytest.raises(DecodeError, match="Wrong Vendor"):
        conditioner.decode("stat/tasmota/RESULT", DOC_WRONG_VENDOR)
    for bad in ({"Mode": "Hot"}, {"Temp": "hot"}, {"Temp": 1e300}, {"Temp": 10**400},
                {"Power": "maybe"},
                {"FanSpeed": 9}):
        payload = json.dumps({"IRHVAC": {**ECHO, **bad}}).encode()
        with pytest.raises(DecodeError, match="IRHVAC"):
            conditioner.decode("stat/tasmota/RESULT", payload)
    for payload in (b'{"IRHVAC":[1]}', b'{"IrReceived":"x"}', b"{", b"[]"):
        with pytest.raises(DecodeError):
            conditioner.decode("tele/tasmota/RESULT" if b"Ir" in payload else "stat/tasmota/RESULT",
                               payload)
    assert conditioner.decode("stat/tasmota/RESULT", b'{"Command":"Unknown"}') is None
    # Nothing garbage changed what the next command is based on.
    assert irhvac(conditioner.encode({"power": True}))["Temp"] == 25


def test_options_are_checked() -> None:
    with pytest.raises(ValueError, match="irhvac_vendor"):
        codec("climate", "tasmota")
    with pytest.raises(ValueError, match="cannot drive"):
        codec("media", "tasmota")
    with pytest.raises(ValueError, match="topic part"):
        TasmotaOptions.model_validate({"convention": "tasmota", "topic": "a/+"})
    assert ac().subscriptions() == ["stat/tasmota/RESULT", "tele/tasmota/LWT",
                                    "tele/tasmota/RESULT"]
