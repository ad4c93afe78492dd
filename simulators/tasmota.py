"""Simulated Tasmota devices: a relay (plug), a dimmable light, an IR blaster with its AC (a
sensor: simulators/tasmota_sensor.py).

They answer as the Tasmota docs ("MQTT", "Commands", "Lights", "Tasmota-IR") and firmware
(support_command.ino CmndPower, xdrv_04_light.ino CmndDimmer, xdrv_05_irremote_full.ino
CmndIrHvac) do, reusing the wire helpers of devices/conventions/tasmota.py. Not modelled:
Blink, PulseTime, SetOption4/20/26, GroupTopic, IRHVAC "Incremental".
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from datetime import datetime
from typing import Any, ClassVar

from devices.capabilities import attributes_of
from devices.conventions.tasmota import (
    CLIMATE_DEFAULTS,
    OFFLINE,
    ONLINE,
    TasmotaOptions,
    dumps,
    irhvac_core,
    parse_ir_bool,
    parse_ir_fan,
    parse_ir_mode,
    parse_ir_temp,
)
from devices.model import (
    BRIGHTNESS,
    FAN,
    MODE,
    POWER,
    SETPOINT,
    Kind,
    Message,
    State,
    StateValue,
)
from simulators.base import SimulatedDevice

# Power payloads as Tasmota's GetStateNumber reads them (any case); anything else, and an
# empty payload or "?", only reports the state.
POWER_WORDS = {"0": False, "off": False, "false": False, "1": True, "on": True, "true": True}
TOGGLE_WORDS = frozenset({"2", "toggle"})
# Dimmer +/- step (CmndDimmer: "+" = increase by 10, "-" = decrease by 10, never below 1).
DIMMER_STEP = 10
# IRHVAC vendors listed by the Tasmota-IR docs ("Wrong Vendor (...)" reply); the configured
# vendor is always accepted too.
IR_VENDORS = (
    "COOLIX|DAIKIN|KELVINATOR|MITSUBISHI_AC|GREE|ARGO|TROTEC|TOSHIBA_AC|FUJITSU_AC|MIDEA|"
    "HAIER_AC|HITACHI_AC|HAIER_AC_YRW02|WHIRLPOOL_AC|SAMSUNG_AC|ELECTRA_AC|PANASONIC_AC|DAIKIN2|"
    "VESTEL_AC|TECO|TCL112AC|MITSUBISHI_HEAVY_88|MITSUBISHI_HEAVY_152|DAIKIN216|SHARP_AC|"
    "GOODWEATHER|DAIKIN160|NEOCLIMA|DAIKIN176|DAIKIN128|AMCOR"
)
# Fields of a "Control" IRHVAC echo that vipctl does not drive, at their defaults.
IR_ECHO_REST: dict[str, Any] = {
    "SwingV": "Off", "SwingH": "Off", "Quiet": "Off", "Turbo": "Off", "Econo": "Off",
    "Light": "Off", "Filter": "Off", "Clean": "Off", "Beep": "Off", "Sleep": -1,
}


class TasmotaDevice(SimulatedDevice):
    """What every Tasmota shares: LWT, STATE, the cmnd/stat/tele topics, unknown commands."""

    kind: ClassVar[Kind] = "switch"

    def __init__(self, device_id: str, options: TasmotaOptions, *, host: str, port: int,
                 topic_prefix: str = "", state: dict[str, StateValue] | None = None) -> None:
        super().__init__(device_id, host=host, port=port, topic_prefix=topic_prefix)
        self.options = options
        self.state.update(state or {})
        self._started = time.monotonic()
        self._connects = 0

    def topic(self, prefix: str, command: str) -> str:
        return f"{prefix}/{self.options.topic}/{command}"

    def result(self, obj: dict[str, Any]) -> Message:
        return Message(self.topic("stat", "RESULT"), dumps(obj))

    def command_topics(self) -> list[str]:
        return [self.topic("cmnd", "+")]

    def will(self) -> Message:
        return Message(self.topic("tele", "LWT"), OFFLINE.encode(), retain=True)

    def birth(self) -> list[Message]:
        self._connects += 1
        online = Message(self.topic("tele", "LWT"), ONLINE.encode(), retain=True)
        return [online, Message(self.topic("tele", "STATE"), dumps(self.state_json()))]

    def state_topics(self) -> list[str]:
        return [self.topic("stat", "RESULT"), self.topic("tele", "STATE")]

    def state_json(self) -> dict[str, Any]:
        """The STATE report (tele/<topic>/STATE, and the STATE command's RESULT)."""
        up = int(time.monotonic() - self._started)
        return {
            "Time": datetime.now().strftime("%Y-%m-%dT%H:%M:%S"),
            "Uptime": f"{up // 86400}T{up // 3600 % 24:02d}:{up // 60 % 60:02d}:{up % 60:02d}",
            "UptimeSec": up, "Heap": 25, "SleepMode": "Dynamic", "Sleep": 50, "LoadAvg": 19,
            "MqttCount": self._connects, **self.device_json(append=True),
            "Wifi": {"AP": 1, "SSId": "vipctl-sim", "Channel": 1, "RSSI": 100, "Signal": -40},
        }

    def device_json(self, *, append: bool) -> dict[str, Any]:
        """The device's own part of STATE (relays, light); `append` adds light settings."""
        return {}

    def handle(self, topic: str, payload: bytes) -> list[Message]:
        command = topic.rsplit("/", 1)[-1].upper()  # Tasmota commands are case-insensitive
        text = payload.decode("utf-8", errors="replace").strip()
        text = "" if text == "?" else text  # the docs' query for clients that can't send empty
        if command == "STATE":
            return [self.result(self.state_json())]
        replies = self.command(command, text)
        return replies if replies is not None else [self.result({"Command": "Unknown"})]

    def command(self, command: str, text: str) -> list[Message] | None:
        """Replies to one command; None for a command this device does not know."""
        return None

    def check_local(self, state: State) -> None:
        unknown = set(state) - attributes_of(self.kind)
        if unknown:
            raise ValueError(f"{self.device_id}: a {self.kind} has no {sorted(unknown)}")


class TasmotaRelay(TasmotaDevice):
    """A plug or relay board; options.relay > 1 makes it a board with that many relays."""

    kind: ClassVar[Kind] = "switch"

    def __init__(self, device_id: str, options: TasmotaOptions, **kwargs: Any) -> None:
        super().__init__(device_id, options, **kwargs)
        self.state.setdefault(POWER, False)
        self._index = options.relay or 1
        self._count = max(self._index, 1)
        self._others: dict[int, bool] = {}  # relays other than the simulated one

    def power_key(self, index: int) -> str:
        return "POWER" if self._count == 1 else f"POWER{index}"

    def relay_on(self, index: int) -> bool:
        if index == self._index:
            return bool(self.reported()[POWER])
        return self._others.get(index, False)

    def set_relay(self, index: int, on: bool) -> None:
        if index == self._index:
            self.state[POWER] = on
        else:
            self._others[index] = on

    def power_report(self, index: int) -> list[Message]:
        """MqttPublishPowerState: JSON on stat/RESULT, plain text on stat/POWER<n>."""
        key, text = self.power_key(index), "ON" if self.relay_on(index) else "OFF"
        return [self.result({key: text}), Message(self.topic("stat", key), text.encode())]

    def device_json(self, *, append: bool) -> dict[str, Any]:
        return {self.power_key(i): "ON" if self.relay_on(i) else "OFF"
                for i in range(1, self._count + 1)}

    def state_topics(self) -> list[str]:
        keys = {self.power_key(self._index), f"POWER{self._index}"}
        return [*super().state_topics(), *(self.topic("stat", key) for key in sorted(keys))]

    def command(self, command: str, text: str) -> list[Message] | None:
        match = re.fullmatch(r"POWER(\d*)", command)
        if match is None:
            return None
        index = int(match.group(1) or 1)
        if not 1 <= index <= self._count:
            return None
        word = text.lower()
        if word in POWER_WORDS:
            self.set_relay(index, POWER_WORDS[word])
        elif word in TOGGLE_WORDS:
            self.set_relay(index, not self.relay_on(index))
        return self.power_report(index)  # a bad or empty payload only reports

    async def change_locally(self, state: dict[str, StateValue]) -> None:
        """Someone pressed the button: Tasmota reports like a POWER command."""
        self.check_local(state)
        self.state.update(state)
        await self.publish_all(self.power_report(self._index))


class TasmotaLight(TasmotaRelay):
    """A one-channel dimmable light: POWER and Dimmer."""

    kind: ClassVar[Kind] = "light"

    def __init__(self, device_id: str, options: TasmotaOptions, **kwargs: Any) -> None:
        super().__init__(device_id, options, **kwargs)
        self.state.setdefault(BRIGHTNESS, 100)

    def light_state(self) -> list[Message]:
        """LightState(0): what Dimmer answers, on stat/RESULT only."""
        return [self.result(self.device_json(append=False))]

    def device_json(self, *, append: bool) -> dict[str, Any]:
        light = {**super().device_json(append=append), "Dimmer": self.reported()[BRIGHTNESS]}
        return {**light, "Fade": "OFF", "Speed": 1, "LedTable": "ON"} if append else light

    def command(self, command: str, text: str) -> list[Message] | None:
        if command != "DIMMER":
            return super().command(command, text)
        current = int(self.state[BRIGHTNESS])
        if text == "+":
            text = str(min(100, current + DIMMER_STEP))
        elif text == "-":
            text = str(max(1, current - DIMMER_STEP))
        if not text.isdigit() or not 0 <= int(text) <= 100:
            return [self.result({"Dimmer": self.reported()[BRIGHTNESS]})]  # report old value
        self.state[BRIGHTNESS] = int(text)
        self.state[POWER] = int(text) > 0  # Lights docs: Dimmer>0 powers on, Dimmer 0 off
        return self.light_state()

    async def change_locally(self, state: dict[str, StateValue]) -> None:
        """A wall dimmer or the web UI: brightness changes report like Dimmer, power like POWER."""
        self.check_local(state)
        self.state.update(state)
        if BRIGHTNESS in state:
            await self.publish_all(self.light_state())
        else:
            await self.publish_all(self.power_report(self._index))


class TasmotaIrBlaster(TasmotaDevice):
    """A tasmota-ir blaster and the air conditioner it points at (self.state is the AC's)."""

    kind: ClassVar[Kind] = "climate"

    def __init__(self, device_id: str, options: TasmotaOptions, **kwargs: Any) -> None:
        super().__init__(device_id, options, **kwargs)
        if not options.irhvac_vendor:
            raise ValueError(f"{device_id}: an IR blaster simulator needs irhvac_vendor")
        self.vendor = options.irhvac_vendor.upper()
        for key, value in CLIMATE_DEFAULTS.items():
            self.state.setdefault(key, value)

    def state_topics(self) -> list[str]:
        return [self.topic("stat", "RESULT"), self.topic("tele", "RESULT")]

    def irhvac_json(self, vendor: str, state: State) -> dict[str, Any]:
        """sendACJsonState for a "Control" state."""
        core = irhvac_core(state)
        return {"Vendor": vendor, "Model": -1, "Command": "Control", "Mode": core["Mode"],
                "Power": core["Power"], "Celsius": "On", "Temp": core["Temp"],
                "FanSpeed": core["FanSpeed"], **IR_ECHO_REST, "iFeel": "Off", "SensorTemp": None}

    def command(self, command: str, text: str) -> list[Message] | None:
        if command != "IRHVAC":
            return None
        if not text:
            return [self.result({"IRHVAC": "Wrong Vendor, Mode or FanSpeed"})]
        try:
            root = json.loads(text)
        except ValueError:
            root = None
        if not isinstance(root, dict):
            return [self.result({"IRHVAC": "Invalid JSON"})]
        vendor = str(root.get("Vendor", root.get("Protocol", ""))).upper()
        if vendor not in {*IR_VENDORS.split("|"), self.vendor}:
            return [self.result({"IRHVAC": f"Wrong Vendor ({IR_VENDORS})"})]
        # Omitted fields take IRremoteESP8266's defaults: IRHVAC always sends a whole state.
        celsius = parse_ir_bool(root.get("Celsius", "On")) is not False
        temp = parse_ir_temp(root.get("Temp", 25), celsius)
        sent: dict[str, StateValue] = {
            POWER: bool(parse_ir_bool(root.get("Power", "Off"))),
            MODE: parse_ir_mode(root.get("Mode", "Off")) or "auto",
            SETPOINT: 25.0 if temp is None else temp,
            FAN: parse_ir_fan(root.get("FanSpeed", "Auto")) or "auto",
        }
        if sent[MODE] == "off":
            sent[POWER] = False
        stored_only = str(root.get("StateMode", "")).lower() == "storeonly"
        if vendor == self.vendor and not stored_only:
            self.state.update(sent)  # only our AC's own protocol reaches it
        echo = self.irhvac_json(vendor, {**sent, **self.faults.wrong_state})
        return [self.result({"IRHVAC": echo})]  # the command as sent, whoever heard it

    async def change_locally(self, state: dict[str, StateValue]) -> None:
        """Someone used the AC's remote: the blaster's receiver hears and decodes it."""
        self.check_local(state)
        self.state.update(state)
        if self.state[MODE] == "off":
            self.state[POWER] = False
        ir = self.irhvac_json(self.vendor, self.reported())
        data = "0x" + hashlib.sha1(dumps(ir)).hexdigest().upper()[:38]
        received = {"Protocol": self.vendor, "Bits": 152, "Data": data, "Repeat": 0, "IRHVAC": ir}
        await self.publish(self.topic("tele", "RESULT"), dumps({"IrReceived": received}))


def make(device_id: str, kind: Kind, options: TasmotaOptions, *, host: str, port: int,
         topic_prefix: str = "", state: dict[str, StateValue] | None = None) -> TasmotaDevice:
    """The simulator for one Tasmota device of `kind`."""
    classes: dict[str, type[TasmotaDevice]] = {
        "switch": TasmotaRelay, "light": TasmotaLight, "climate": TasmotaIrBlaster}
    if kind not in classes:
        raise ValueError(f"{device_id}: no Tasmota simulator for a {kind}")
    return classes[kind](device_id, options, host=host, port=port, topic_prefix=topic_prefix,
                         state=state)
