"""Sensors: the site file's `measures:` and its refusals, and the Zigbee2MQTT and Tasmota
codecs against the vendors' documented payloads and against garbage."""

from __future__ import annotations

from pathlib import Path

import pytest

from devices.conventions.tasmota import TasmotaCodec, TasmotaOptions
from devices.conventions.zigbee2mqtt import Zigbee2MqttCodec, Zigbee2MqttOptions
from devices.errors import DecodeError, UnsupportedCommand
from devices.model import Message, Update
from tests.sitefiles import HEAD, problems, write

# --- the site file --------------------------------------------------------------------------


def test_a_sensor_says_what_it_measures_and_nothing_else_does(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD + """\
  outdoor_weather:
    kind: sensor
    mqtt: {convention: zigbee2mqtt, name: outdoor_weather}
  vip_room_climate:
    kind: sensor
    mqtt: {convention: tasmota, topic: vip_room_climate}
    measures: [temperature, occupancy, rain]
  hall_lights:
    kind: light
    mqtt: {convention: zigbee2mqtt, name: hall_lights}
    measures: [temperature]
""")
    assert problems(path) == [
        f"{path}:7: devices.outdoor_weather.measures: say what the sensor reads: one or more of "
        "temperature, humidity, rain, water_leak, occupancy",
        f"{path}:12: devices.vip_room_climate.mqtt.rain_switch: a Tasmota reads rain from a "
        "switch input: name it (e.g. Switch1)",
        f"{path}:13: devices.vip_room_climate.measures[1]: a tasmota sensor cannot read "
        "occupancy (it reads: humidity, rain, temperature)",
        f"{path}:17: devices.hall_lights.measures: only a sensor measures; this is a light",
    ]


# --- Zigbee2MQTT ------------------------------------------------------------------------------

def z2m(name: str = "outdoor_weather") -> Zigbee2MqttCodec:
    return Zigbee2MqttCodec(name, "sensor", Zigbee2MqttOptions(convention="zigbee2mqtt",
                                                                name=name))


# zigbee2mqtt.io device pages: eWeLink WS01 exposes `rain`, TuYa RB-SRAIN01 `raining` (a
# water_leak-type binary), a TuYa TS0601 temperature & humidity sensor `temperature` (°C)
# and `humidity` (%); Zigbee2MQTT adds linkquality, battery and voltage to every message.
@pytest.mark.parametrize(("payload", "state"), [
    (b'{"rain":true,"battery":100,"linkquality":87}', {"rain": True}),
    (b'{"raining":false,"illuminance":120,"linkquality":60}', {"rain": False}),
    (b'{"temperature":23.51,"humidity":48,"battery":97,"temperature_unit":"celsius"}',
     {"temperature": 23.51, "humidity": 48.0}),
    (b'{"occupancy":true,"water_leak":false,"battery_low":false}',
     {"occupancy": True, "water_leak": False}),
    (b'{"battery":100,"linkquality":87}', {}),
])
def test_zigbee2mqtt_readings(payload: bytes, state: dict[str, object]) -> None:
    codec = z2m()
    assert codec.decode("zigbee2mqtt/outdoor_weather", payload) == Update(state=state)
    assert codec.query() == []  # a sleeping sensor cannot be read with /get
    assert codec.subscriptions() == ["zigbee2mqtt/outdoor_weather",
                                     "zigbee2mqtt/outdoor_weather/availability"]


@pytest.mark.parametrize("payload", [b'{"rain":"yes"}', b'{"temperature":"hot"}',
                                     b'{"humidity":1e400}', b'{"occupancy":1}'])
def test_zigbee2mqtt_garbage_is_refused(payload: bytes) -> None:
    with pytest.raises(DecodeError):
        z2m().decode("zigbee2mqtt/outdoor_weather", payload)


def test_a_sensor_takes_no_command() -> None:
    with pytest.raises(UnsupportedCommand):
        z2m().encode({"power": True})


# --- Tasmota --------------------------------------------------------------------------------

def tasmota(**options: str) -> TasmotaCodec:
    return TasmotaCodec("vip_room_climate", "sensor", TasmotaOptions(
        convention="tasmota", topic="vip_room_climate", **options))  # type: ignore[arg-type]


# https://tasmota.github.io/docs/AM2301/ (tele/%topic%/SENSOR), verbatim.
DOC_AM2301 = (b'{"Time":"2019-01-01T00:00:00","AM2301":{"Temperature":24.6,"Humidity":58.2},'
              b'"TempUnit":"C"}')


def test_tasmota_telemetry_and_status_10() -> None:
    codec = tasmota()
    assert codec.decode("tele/vip_room_climate/SENSOR", DOC_AM2301) == Update(
        state={"temperature": 24.6, "humidity": 58.2})
    status = b'{"StatusSNS":{"Time":"2026-12-06T08:00:00","SHT3X":{"Temperature":27.9,' \
             b'"Humidity":40.1,"DewPoint":13.2},"TempUnit":"C"}}'
    assert codec.decode("stat/vip_room_climate/STATUS10", status) == Update(
        state={"temperature": 27.9, "humidity": 40.1})
    assert codec.query() == [Message("cmnd/vip_room_climate/STATUS", b"10")]
    assert "tele/vip_room_climate/LWT" in codec.subscriptions()


def test_tasmota_in_fahrenheit_a_named_sensor_and_a_rain_switch() -> None:
    codec = tasmota(sensor="DS18B20", rain_switch="Switch1")
    payload = (b'{"Time":"2026-12-06T08:00:00","Switch1":"ON","AM2301":{"Temperature":90},'
               b'"DS18B20":{"Id":"01144A0CB2AA","Temperature":82.4},"TempUnit":"F"}')
    assert codec.decode("tele/vip_room_climate/SENSOR", payload) == Update(
        state={"temperature": 28.0, "rain": True})


@pytest.mark.parametrize(("topic", "payload"), [
    ("tele/vip_room_climate/SENSOR", b'{"AM2301":{"Temperature":"warm"}}'),
    ("tele/vip_room_climate/SENSOR", b"not json"),
    ("stat/vip_room_climate/STATUS10", b'{"StatusSNS":"none"}'),
])
def test_tasmota_garbage_is_refused(topic: str, payload: bytes) -> None:
    with pytest.raises(DecodeError):
        tasmota().decode(topic, payload)


def test_tasmota_rain_switch_garbage() -> None:
    with pytest.raises(DecodeError):
        tasmota(rain_switch="Switch1").decode("tele/vip_room_climate/SENSOR",
                                              b'{"Switch1":"MAYBE"}')
