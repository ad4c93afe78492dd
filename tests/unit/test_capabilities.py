"""Capabilities: what a device can do decides what may be asked of it, at load and at run."""

from __future__ import annotations

from pathlib import Path

import pytest

from common.yamlconf import ConfigError
from controller.config.scene import load_scene_for
from controller.config.site import load_site
from devices.capabilities import (
    Climate,
    Dimmable,
    Intercom,
    MediaPlayer,
    Switchable,
    attributes_of,
    can,
)
from devices.config import CommandPolicy
from devices.conventions.registry import make_codec
from devices.conventions.tasmota import TasmotaOptions
from devices.errors import NotCapable, UnsupportedCommand
from devices.kinds import IntercomDevice, Light, make_device
from devices.registry import DeviceRegistry
from devices.transports.mqtt import MqttSettings, MqttTransport

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "config" / "demo.yaml"
SCENE = REPO / "scenes" / "vip_reception.yaml"


@pytest.fixture
def registry() -> DeviceRegistry:
    site = load_site(DEMO)
    transport = MqttTransport(MqttSettings(host="127.0.0.1"))  # never started: nothing sent
    return DeviceRegistry.build(site.devices, site.groups, transport=transport,
                                policy_for=site.policy_for)


def test_each_kind_has_its_capabilities() -> None:
    assert attributes_of("light") == {"power", "brightness"}
    assert attributes_of("switch") == {"power"}
    assert attributes_of("intercom") == frozenset()
    assert can("light", Switchable) and can("light", Dimmable)
    assert not can("switch", Dimmable)
    assert can("climate", Climate) and not can("climate", Switchable)
    assert can("intercom", Intercom) and not can("media", Intercom)


def test_the_registry_gives_a_device_as_a_capability(registry: DeviceRegistry) -> None:
    intercom = registry.get("staff_intercom", Intercom)
    assert isinstance(intercom, IntercomDevice)
    assert isinstance(registry.get("model_area_lights", Dimmable), Light)
    assert sorted(registry.having(MediaPlayer)) == ["background_music", "vip_room_video"]
    assert sorted(registry.having(Intercom)) == ["staff_intercom"]


def test_a_light_cannot_speak(registry: DeviceRegistry) -> None:
    with pytest.raises(NotCapable, match="model_area_lights is a light: it is not an intercom") \
            as refused:
        registry.get("model_area_lights", Intercom)
    assert (refused.value.device_id, refused.value.kind) == ("model_area_lights", "light")
    assert not hasattr(registry["model_area_lights"], "announce")


async def test_a_device_refuses_an_attribute_its_kind_lacks(registry: DeviceRegistry) -> None:
    with pytest.raises(UnsupportedCommand, match="a light has no setpoint") as refused:
        await registry["hall_lights"].command({"setpoint": 24})
    assert refused.value.attribute == "setpoint"


def test_an_intercom_needs_an_intercom_convention() -> None:
    options = TasmotaOptions(convention="tasmota", topic="pa")
    codec = make_codec("pa", "switch", options)
    transport = MqttTransport(MqttSettings(host="127.0.0.1"))
    with pytest.raises(TypeError, match="tasmota is not an intercom convention"):
        make_device("pa", kind="intercom", codec=codec, transport=transport, policy=CommandPolicy())


def test_a_scene_announcing_on_a_light_is_refused_at_load(tmp_path: Path) -> None:
    site = load_site(DEMO)
    text = SCENE.read_text(encoding="utf-8").replace(
        "  intercom: staff_intercom", "  intercom: model_area_lights", 1)
    assert "intercom: model_area_lights" in text
    scene = tmp_path / "scene.yaml"
    scene.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load_scene_for(site, scene)
    problem = refused.value.problems[0]
    assert problem.field == "announcements.intercom"
    assert problem.line is not None
    assert "'model_area_lights' cannot speak: it is not an intercom" in problem.message
    assert "staff_intercom" in problem.message  # what would do
