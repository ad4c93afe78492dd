"""The Zigbee2MQTT codec against the payloads zigbee2mqtt.io documents, and against garbage."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from devices.conventions.zigbee2mqtt import (
    CODEC,
    Zigbee2MqttCodec,
    Zigbee2MqttOptions,
    level_to_percent,
    percent_to_level,
    vendor_action,
)
from devices.errors import DecodeError, UnsupportedCommand
from devices.model import Kind, Message, StateValue, Update, matches


def options(name: str = "hall", **extra: Any) -> Zigbee2MqttOptions:
    return Zigbee2MqttOptions(convention="zigbee2mqtt", name=name, **extra)


def codec(kind: Kind, **extra: Any) -> Zigbee2MqttCodec:
    return Zigbee2MqttCodec("dev", kind, options(**extra))


def sent(messages: list[Message]) -> list[tuple[str, Any]]:
    return [(m.topic, json.loads(m.payload)) for m in messages]


# --- options and topics --------------------------------------------------------------------


def test_topics_follow_base_and_friendly_name() -> None:
    # mqtt_topics_and_messages: "a friendly_name like kitchen/floor_light" is allowed.
    o = options("kitchen/floor_light", base_topic="z2m")
    assert (o.state_topic, o.set_topic, o.get_topic, o.availability_topic) == (
        "z2m/kitchen/floor_light",
        "z2m/kitchen/floor_light/set",
        "z2m/kitchen/floor_light/get",
        "z2m/kitchen/floor_light/availability",
    )
    assert codec("light").subscriptions() == ["zigbee2mqtt/hall", "zigbee2mqtt/hall/availability"]
    assert codec("button").subscriptions()[-1] == "zigbee2mqtt/hall/action"


@pytest.mark.parametrize(
    "bad",
    [
        {"name": "hall/+"},
        {"name": "#"},
        {"setpoint_property": "heating_setpoint"},
        {"actions": {}},
        {"actions": {"": "single"}},
        {"actions": {"1_single": "triple"}},
        {"power_on_mode": "off"},
        {"colour": "red"},
    ],
)
def test_bad_options_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        Zigbee2MqttOptions(**{"convention": "zigbee2mqtt", "name": "hall", **bad})


def test_registry_entry() -> None:
    assert CODEC is Zigbee2MqttCodec
    assert CODEC.convention == "zigbee2mqtt"
    assert CODEC.kinds == {"light", "switch", "climate", "button", "sensor"}


# --- brightness ----------------------------------------------------------------------------


def test_brightness_round_trip_is_exact_for_every_percent() -> None:
    assert percent_to_level(50) == 127
    assert level_to_percent(127) == 50
    assert (percent_to_level(0), percent_to_level(100)) == (0, 254)
    assert all(level_to_percent(percent_to_level(p)) == p for p in range(101))
    assert level_to_percent(255) == 100  # the /set doc says 0-255; some devices echo 255


# --- light and switch ----------------------------------------------------------------------


def test_light_command_converts_percent_at_the_edge() -> None:
    c = codec("light")
    assert sent(c.encode({"power": True, "brightness": 50})) == [
        ("zigbee2mqtt/hall/set", {"state": "ON", "brightness": 127})
    ]
    assert c.encode({"power": True})[0].retain is False


def test_light_off_sends_no_brightness_and_waits_only_for_off() -> None:
    c = codec("light")
    desired: dict[str, StateValue] = {"power": False, "brightness": 80}
    assert sent(c.encode(desired)) == [("zigbee2mqtt/hall/set", {"state": "OFF"})]
    assert c.confirmation(desired) == {"power": False}


def test_switch_command() -> None:
    assert sent(codec("switch").encode({"power": False})) == [
        ("zigbee2mqtt/hall/set", {"state": "OFF"})
    ]


@pytest.mark.parametrize(
    ("kind", "desired"),
    [
        ("switch", {"brightness": 50}),
        ("light", {"setpoint": 21}),
        ("light", {"brightness": 101}),
        ("light", {"brightness": 50.5}),
        ("light", {"brightness": True}),
        ("light", {"power": "on"}),
        ("button", {"power": True}),
        ("climate", {"mode": "turbo"}),
        ("climate", {"setpoint": "warm"}),
        ("climate", {"setpoint": float("nan")}),
        ("climate", {"fan": "high"}),  # fan_mode not enabled for this thermostat
        ("climate", {"power": True, "mode": "off"}),
    ],
)
def test_commands_it_cannot_send_are_refused(kind: Kind, desired: dict[str, Any]) -> None:
    with pytest.raises(UnsupportedCommand):
        codec(kind).encode(desired)


def test_query_uses_the_documented_get_form() -> None:
    # mqtt_topics_and_messages, zigbee2mqtt/FRIENDLY_NAME/get: 'send the payload {"state": ""}'.
    assert codec("switch").query() == [Message("zigbee2mqtt/hall/get", b'{"state": ""}')]
    assert sent(codec("light").query()) == [
        ("zigbee2mqtt/hall/get", {"state": "", "brightness": ""})
    ]
    assert codec("button").query() == []


def test_documented_bulb_state_is_decoded() -> None:
    # mqtt_topics_and_messages: IKEA TRADFRI LED bulb E27 980 lumen (LED1545G12).
    payload = b'{\n  "state": "ON",\n  "brightness": 215,\n  "color_temp": 325\n}'
    update = codec("light").decode("zigbee2mqtt/hall", payload)
    assert update == Update(state={"power": True, "brightness": 85})


def test_unknown_fields_and_nulls_are_ignored() -> None:
    payload = json.dumps(
        {
            "state": "OFF",
            "brightness": 127,
            "linkquality": 76,
            "last_seen": "2024-12-10T09:07:51.399Z",
            "update": {"installed_version": 604241925, "state": "idle"},
            "update_available": None,
            "color": {"x": 0.123, "y": 0.123},
        }
    ).encode()
    assert codec("light").decode("zigbee2mqtt/hall", payload) == Update(
        state={"power": False, "brightness": 50}
    )
    assert codec("switch").decode("zigbee2mqtt/hall", payload) == Update(state={"power": False})
    assert codec("light").decode("zigbee2mqtt/hall", b'{"brightness": null}') == Update()


def test_light_round_trip_through_the_echo_confirms() -> None:
    c = codec("light")
    body = json.loads(c.encode({"power": True, "brightness": 50})[0].payload)
    update = c.decode("zigbee2mqtt/hall", json.dumps({**body, "linkquality": 9}).encode())
    assert update is not None
    assert matches(update.state, c.confirmation({"power": True, "brightness": 50}))


# --- availability --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "available"),
    [
        (b"online", True),  # device-availability: legacy payload (1.x default)
        (b"offline", False),
        (b'{"state":"online"}', True),  # legacy_availability_payload: false, the 2.x form
        (b'{"state":"offline"}', False),
        (b"", None),  # a cleared retained message says nothing
    ],
)
def test_availability_in_both_forms(payload: bytes, available: bool | None) -> None:
    kinds: tuple[Kind, ...] = ("light", "button")
    for kind in kinds:
        c = codec(kind)
        assert c.decode("zigbee2mqtt/hall/availability", payload) == Update(available=available)


@pytest.mark.parametrize(
    "payload", [b"maybe", b'{"state":"dunno"}', b"[1]", b'{"online": true}', b"\xff\xfe"]
)
def test_bad_availability_is_a_decode_error(payload: bytes) -> None:
    with pytest.raises(DecodeError) as err:
        codec("light").decode("zigbee2mqtt/hall/availability", payload)
    assert err.value.topic == "zigbee2mqtt/hall/availability"


# --- garbage -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "payload"),
    [
        ("light", b"ON"),
        ("light", b"{not json"),
        ("light", b"\xff\xfe\x00"),
        ("light", b'["state", "ON"]'),
        ("light", b'"ON"'),
        ("light", b"42"),
        ("light", b'{"state": 1}'),
        ("light", b'{"state": "HALF"}'),
        ("light", b'{"brightness": "high"}'),
        ("light", b'{"brightness": -1}'),
        ("light", b'{"brightness": 9999}'),
        ("light", b'{"brightness": true}'),
        ("light", b'{"brightness": 1' + b"0" * 400 + b"}"),  # an int beyond float's range
        ("light", b"[" * 100_000),
        ("light", b'{"state": "ON", "x": "' + b"a" * 1_048_576 + b'"}'),
        ("climate", b'{"system_mode": 3}'),
        ("climate", b'{"occupied_heating_setpoint": "21"}'),
        ("climate", b'{"occupied_heating_setpoint": 1' + b"0" * 400 + b"}"),
        ("climate", b'{"fan_mode": ["low"]}'),
        ("button", b'{"action": 1}'),
        ("button", b"single"),
    ],
)
def test_garbage_state_is_a_decode_error(kind: Kind, payload: bytes) -> None:
    with pytest.raises(DecodeError) as err:
        codec(kind).decode("zigbee2mqtt/hall", payload)
    assert err.value.topic == "zigbee2mqtt/hall"


@pytest.mark.parametrize(
    "topic",
    ["zigbee2mqtt/hall/set", "zigbee2mqtt/hall2", "zigbee2mqtt/other", "z2m/hall", "hall"],
)
def test_topics_not_about_this_device_are_none(topic: str) -> None:
    assert codec("light").decode(topic, b'{"state": "ON"}') is None


def test_action_topic_is_not_ours_unless_a_button() -> None:
    assert codec("light").decode("zigbee2mqtt/hall/action", b"single") is None


# --- climate -------------------------------------------------------------------------------


def test_thermostat_command() -> None:
    c = codec("climate", fan_mode=True)
    desired: dict[str, StateValue] = {"power": True, "mode": "cool", "setpoint": 24, "fan": "low"}
    assert sent(c.encode(desired)) == [
        (
            "zigbee2mqtt/hall/set",
            {"system_mode": "cool", "occupied_heating_setpoint": 24, "fan_mode": "low"},
        )
    ]
    assert c.confirmation(desired) == desired


def test_thermostat_setpoint_property_is_configurable() -> None:
    # exposes, Climate: "Never has both occupied_heating_setpoint and current_heating_setpoint".
    c = codec("climate", setpoint_property="current_heating_setpoint")
    assert sent(c.encode({"setpoint": 21.5})) == [
        ("zigbee2mqtt/hall/set", {"current_heating_setpoint": 21.5})
    ]
    echo = b'{"current_heating_setpoint": 21.5, "occupied_heating_setpoint": 5}'
    assert c.decode("zigbee2mqtt/hall", echo) == Update(state={"setpoint": 21.5})


def test_thermostat_power_off_is_system_mode_off() -> None:
    c = codec("climate")
    desired: dict[str, StateValue] = {"power": False, "mode": "cool", "setpoint": 26}
    assert sent(c.encode(desired)) == [
        ("zigbee2mqtt/hall/set", {"system_mode": "off", "occupied_heating_setpoint": 26})
    ]
    assert c.confirmation(desired) == {"power": False, "setpoint": 26}
    assert sent(c.encode({"mode": "off"})) == [("zigbee2mqtt/hall/set", {"system_mode": "off"})]


def test_thermostat_power_on_resumes_the_last_mode() -> None:
    c = codec("climate", power_on_mode="heat")
    assert sent(c.encode({"power": True})) == [("zigbee2mqtt/hall/set", {"system_mode": "heat"})]
    c.decode("zigbee2mqtt/hall", b'{"system_mode": "cool"}')
    c.decode("zigbee2mqtt/hall", b'{"system_mode": "off"}')
    assert sent(c.encode({"power": True})) == [("zigbee2mqtt/hall/set", {"system_mode": "cool"})]
    assert c.confirmation({"power": True}) == {"power": True}


def test_thermostat_state_is_decoded() -> None:
    # Shapes from the Centralite 3157100 device page: {"system_mode": VALUE} with VALUE one
    # of off, heat, cool, emergency_heating; setpoints and local_temperature in degrees C.
    c = codec("climate")
    payload = (
        b'{"battery": 100, "local_temperature": 26.5, "occupied_cooling_setpoint": 24,'
        b' "occupied_heating_setpoint": 20, "running_state": "cool", "system_mode": "cool",'
        b' "fan_mode": "auto", "linkquality": 102}'
    )
    assert c.decode("zigbee2mqtt/hall", payload) == Update(
        state={"power": True, "mode": "cool", "setpoint": 20.0, "fan": "auto"}
    )
    off = c.decode("zigbee2mqtt/hall", b'{"system_mode": "off"}')
    assert off == Update(state={"power": False, "mode": "off"})
    odd = c.decode("zigbee2mqtt/hall", b'{"system_mode": "emergency_heating", "fan_mode": "on"}')
    assert odd == Update(state={"power": True})  # no vipctl names for these, but it is on


def test_thermostat_query_reads_mode_setpoint_and_fan() -> None:
    assert sent(codec("climate", fan_mode=True).query()) == [
        (
            "zigbee2mqtt/hall/get",
            {"system_mode": "", "occupied_heating_setpoint": "", "fan_mode": ""},
        )
    ]


# --- buttons -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "event"),
    [
        (b'{\n  "action": "single"\n}', "single"),  # mqtt_topics_and_messages, WXKG01LM
        (b'{"action": "double", "battery": 100}', "double"),
        (b'{"action": "hold"}', "hold"),  # TuYa TS0041: single, double, hold
        (b'{"action": "long"}', "hold"),  # SONOFF SNZB-01: single, double, long
        (b'{"action": "1_single"}', "single"),  # multi-button TuYa, first button
        (b'{"action": "on"}', "single"),  # IKEA E1812: on, off (double), brightness_move_up
        (b'{"action": "off"}', "double"),
        (b'{"action": "brightness_move_up"}', "hold"),
        (b'{"action": "brightness_stop"}', None),  # the release after a hold
        (b'{"action": "release"}', None),  # WXKG11LM: single ... hold, release
        (b'{"action": "triple"}', None),
        (b'{"action": ""}', None),  # 1.x resets the action right after it
        (b'{"battery": 100, "linkquality": 120}', None),
        (b'{"action": null}', None),
    ],
)
def test_button_actions(payload: bytes, event: str | None) -> None:
    assert codec("button").decode("zigbee2mqtt/hall", payload) == Update(event=event)


def test_button_state_from_a_real_1x_remote() -> None:
    # Posted in Sian-Lee-SA/Home-Assistant-Switch-Manager#302 (an IKEA remote on 1.x).
    payload = b"""{
  "action": "brightness_down_click",
  "battery": 40,
  "last_seen": "2024-12-10T09:07:51.399Z",
  "linkquality": 76,
  "update": {
    "installed_version": 604241925,
    "latest_version": 604241925,
    "state": "idle"
  },
  "update_available": null
}"""
    c = codec("button", actions={"brightness_down_click": "single"})
    assert c.decode("zigbee2mqtt/hall", payload) == Update(event="single")
    assert c.decode("zigbee2mqtt/hall/action", b"brightness_down_click") == Update(event="single")
    assert codec("button").decode("zigbee2mqtt/hall", payload) == Update()


def test_legacy_action_topic_carries_a_plain_string() -> None:
    c = codec("button")
    assert c.decode("zigbee2mqtt/hall/action", b"single") == Update(event="single")
    assert c.decode("zigbee2mqtt/hall/action", b"") == Update()
    with pytest.raises(DecodeError):
        c.decode("zigbee2mqtt/hall/action", b"\xff\xfe")
    with pytest.raises(DecodeError):
        c.decode("zigbee2mqtt/hall/action", b"x" * 1_048_576)


def test_vendor_action_names_for_the_simulator() -> None:
    assert [vendor_action(a, options()) for a in ("single", "double", "hold")] == [
        "single",
        "double",
        "hold",
    ]
    ikea = options(actions={"on": "single", "off": "double", "brightness_move_up": "hold"})
    assert vendor_action("double", ikea) == "off"
    with pytest.raises(ValueError, match="hold"):
        vendor_action("hold", options(actions={"single": "single"}))
