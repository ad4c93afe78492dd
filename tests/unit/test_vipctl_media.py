"""The vipctl-media codec, both sides, fed the specification's own examples verbatim.

The examples are read from docs/conventions-vipctl.md (the blocks after `<!-- example: ... -->`),
so the specification cannot drift from the code without a test failing.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from devices.conventions.vipctl_media import (
    ERROR,
    POSITION,
    VipctlMediaCodec,
    VipctlMediaOptions,
    availability,
    decode_command,
    decode_state,
    encode_state,
)
from devices.errors import DecodeError, UnsupportedCommand
from devices.model import StateValue, Update, matches

SPEC = Path(__file__).resolve().parents[2] / "docs" / "conventions-vipctl.md"
_EXAMPLE = re.compile(r"<!-- example: (\S+) -->\n```\w*\n(.*?)\n```", re.DOTALL)


def spec_examples() -> dict[str, bytes]:
    return {name: body.encode() for name, body in _EXAMPLE.findall(SPEC.read_text("utf-8"))}


EXAMPLES = spec_examples()
BASE = "vipctl/media/vip_room_tv"
STATE_TOPIC = f"{BASE}/state"


@pytest.fixture
def codec() -> VipctlMediaCodec:
    return VipctlMediaCodec(
        "vip_tv", "media", VipctlMediaOptions(convention="vipctl-media", topic=BASE)
    )


def test_the_specification_has_the_examples_this_test_reads() -> None:
    assert {"media.set.music", "media.set.promo", "media.state.playing", "media.state.error",
            "media.state.refused", "availability.online"} <= set(EXAMPLES)


# --- the specification's examples ---------------------------------------------------------


def test_documented_commands_are_what_the_codec_sends(codec: VipctlMediaCodec) -> None:
    for name in ("media.set.music", "media.set.promo", "media.set.volume"):
        documented = json.loads(EXAMPLES[name])
        [msg] = codec.encode(documented)
        assert msg.topic == f"{BASE}/set"
        assert msg.retain is False
        assert json.loads(msg.payload) == documented
        assert decode_command(msg.topic, EXAMPLES[name]) == documented


def test_documented_playing_state_confirms_the_promo_command(codec: VipctlMediaCodec) -> None:
    update = codec.decode(STATE_TOPIC, EXAMPLES["media.state.playing"])
    assert update is not None
    promo = json.loads(EXAMPLES["media.set.promo"])
    assert matches(update.state, codec.confirmation(promo))
    assert update.state[POSITION] == pytest.approx(12.48)
    assert update.state[ERROR] == ""


def test_documented_error_state_does_not_confirm_and_says_why(codec: VipctlMediaCodec) -> None:
    update = codec.decode(STATE_TOPIC, EXAMPLES["media.state.error"])
    assert update is not None
    assert not matches(update.state, {"playback": "playing"})
    assert "no such file" in str(update.state[ERROR])


def test_documented_refused_state_decodes(codec: VipctlMediaCodec) -> None:
    update = codec.decode(STATE_TOPIC, EXAMPLES["media.state.refused"])
    assert update is not None
    assert str(update.state[ERROR]).startswith("refused:")
    assert update.state["volume"] == 30


def test_availability_and_last_will(codec: VipctlMediaCodec) -> None:
    topic = f"{BASE}/availability"
    assert codec.decode(topic, EXAMPLES["availability.online"]) == Update(available=True)
    will = availability(BASE, False)
    assert (will.topic, will.payload, will.retain) == (topic, b"offline", True)
    assert codec.decode(will.topic, will.payload) == Update(available=False)
    assert codec.decode(topic, b"") == Update()  # a cleared retained message
    with pytest.raises(DecodeError):
        codec.decode(topic, b'{"state": "online"}')


def test_subscriptions_and_query(codec: VipctlMediaCodec) -> None:
    assert codec.subscriptions() == [STATE_TOPIC, f"{BASE}/availability"]
    [query] = codec.query()
    assert (query.topic, query.retain) == (f"{BASE}/get", False)
    assert codec.decode(f"{BASE}/set", b"{}") is None  # our own command is not a report
    assert codec.decode("vipctl/media/other/state", EXAMPLES["media.state.playing"]) is None


# --- the controller's side: encode --------------------------------------------------------


def test_encode_keeps_chinese_readable_and_names_out_of_topics(codec: VipctlMediaCodec) -> None:
    media = "/srv/media/王先生 \"#1\" a/b+c\n.mp4"
    [msg] = codec.encode({"media": media})
    assert msg.topic == f"{BASE}/set"
    assert "王先生".encode() in msg.payload
    assert json.loads(msg.payload) == {"media": media}


@pytest.mark.parametrize(
    ("desired", "attribute"),
    [
        ({"brightness": 50}, "brightness"),
        ({"announced": "x"}, "announced"),
        ({"volume": 101}, "volume"),
        ({"volume": -1}, "volume"),
        ({"volume": 33.5}, "volume"),
        ({"volume": True}, "volume"),
        ({"playback": "rewinding"}, "playback"),
        ({"power": 1}, "power"),
        ({"loop": "yes"}, "loop"),
        ({"media": "x" * 5000}, "media"),
        ({"power": False, "playback": "playing"}, "playback"),
    ],
)
def test_encode_refuses_what_the_player_cannot_do(
    codec: VipctlMediaCodec, desired: dict[str, StateValue], attribute: str
) -> None:
    with pytest.raises(UnsupportedCommand) as err:
        codec.encode(desired)
    assert err.value.attribute == attribute
    assert err.value.device_id == "vip_tv"


def test_encode_nothing_sends_nothing_and_whole_float_volume_is_an_int(
    codec: VipctlMediaCodec,
) -> None:
    assert codec.encode({}) == []
    [msg] = codec.encode({"volume": 30.0})
    assert msg.payload == b'{"volume":30}'


# --- the controller's side: decode garbage -----------------------------------------------

GARBAGE = [
    b"not json",
    b"\xff\xfe\x00",
    b"[1, 2, 3]",
    b'"playing"',
    b"null",
    b"{",
    b'{"volume": NaN}',
    b'{"position": 1e400}',
    b'{"position": 1' + b"0" * 400 + b"}",  # an int beyond float's range
    b'{"volume": "30"}',
    b'{"volume": 30.5}',
    b'{"power": "ON"}',
    b'{"playback": "PLAYING"}',
    b'{"media": 7}',
    b'{"error": 7}',
    b'{"position": -1}',
    b"[" * 30_000 + b"]" * 30_000,  # deep nesting under the size limit
    b'{"media": "' + b"x" * (1024 * 1024) + b'"}',
    b'{"error": ' + b"1" * 60_000 + b"}",  # a 60 kB number where a text belongs
    b'{"volume": "' + b"v" * 60_000 + b'"}',
]


@pytest.mark.parametrize("payload", GARBAGE, ids=lambda p: repr(p[:24]))
def test_garbage_state_is_a_decode_error_naming_the_topic(
    codec: VipctlMediaCodec, payload: bytes
) -> None:
    with pytest.raises(DecodeError) as err:
        codec.decode(STATE_TOPIC, payload)
    assert err.value.topic == STATE_TOPIC
    assert len(err.value.payload) <= 256  # a 1 MB garbage is not kept whole
    assert len(str(err.value)) < 400  # nor quoted whole in the log line


def test_unknown_state_fields_are_ignored_and_partial_states_are_usable(
    codec: VipctlMediaCodec,
) -> None:
    payload = b'{"volume": 40, "title": "Lobby", "bitrate": 320, "nested": {"a": [1]}}'
    assert codec.decode(STATE_TOPIC, payload) == Update(state={"volume": 40})
    assert codec.decode(STATE_TOPIC, b"") == Update()


# --- the device's side --------------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [b'{"volume": 30, "colour": "red"}', b'{"volume": 150}', b"{", b"[]",
     b'{"power": false, "playback": "paused"}', b"x" * (1024 * 1024)],
    ids=["unknown field", "out of range", "not json", "not an object", "contradiction", "1 MB"],
)
def test_device_refuses_bad_commands_whole(payload: bytes) -> None:
    with pytest.raises(DecodeError) as err:
        decode_command(f"{BASE}/set", payload)
    assert err.value.topic == f"{BASE}/set"


def test_device_state_round_trips_through_the_controller(codec: VipctlMediaCodec) -> None:
    state: dict[str, StateValue] = {
        "power": True, "playback": "paused", "media": "/srv/宣传片.mp4", "loop": True, "volume": 7,
    }
    msg = encode_state(BASE, state, position=3.14159, error="")
    assert msg.retain is True
    assert "宣传片".encode() in msg.payload
    decoded = decode_state(msg.topic, msg.payload)
    assert decoded == {**state, POSITION: 3.142, ERROR: ""}
    assert json.loads(msg.payload)[ERROR] is None
