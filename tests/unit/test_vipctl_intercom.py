"""The vipctl-intercom codec and queue, fed the specification's own examples verbatim.

The examples are read from docs/conventions-vipctl.md (the blocks after `<!-- example: ... -->`).
"""

from __future__ import annotations

import json

import pytest

from devices.announcements import AnnouncementQueue
from devices.conventions.vipctl_intercom import (
    FAILED,
    QUEUED,
    SPEAKING,
    IntercomEvent,
    RefusedSay,
    VipctlIntercomCodec,
    VipctlIntercomOptions,
    decode_event,
    decode_say,
    encode_event,
    encode_state,
)
from devices.errors import DecodeError, UnsupportedCommand
from devices.model import ANNOUNCED, Announcement, Update, matches
from tests.unit.test_vipctl_media import spec_examples

EXAMPLES = spec_examples()
BASE = "vipctl/intercom/staff"
ARRIVAL = "王先生已到访,请各岗位做好接待工作"


@pytest.fixture
def codec() -> VipctlIntercomCodec:
    return VipctlIntercomCodec(
        "staff", "intercom", VipctlIntercomOptions(convention="vipctl-intercom", topic=BASE)
    )


def test_the_specification_has_the_examples_this_test_reads() -> None:
    names = {f"intercom.event.{e}" for e in ("queued", "started", "done", "failed", "refused")}
    assert names | {"intercom.say.arrival", "intercom.say.odd_name",
                    "intercom.state.speaking", "intercom.state.done"} <= set(EXAMPLES)


# --- the specification's examples ---------------------------------------------------------


def test_announce_sends_the_documented_say(codec: VipctlIntercomCodec) -> None:
    documented = json.loads(EXAMPLES["intercom.say.arrival"])
    [msg] = codec.announce(Announcement(**documented))
    assert (msg.topic, msg.retain) == (f"{BASE}/say", False)
    assert json.loads(msg.payload) == documented
    assert ARRIVAL.encode() in msg.payload  # readable UTF-8 on the wire, not \u escapes
    assert decode_say(msg.topic, EXAMPLES["intercom.say.arrival"]) == Announcement(**documented)


def test_odd_guest_name_is_data_not_topic(codec: VipctlIntercomCodec) -> None:
    documented = json.loads(EXAMPLES["intercom.say.odd_name"])
    assert "\n" in documented["text"] and "#" in documented["text"]
    [msg] = codec.announce(Announcement(**documented))
    assert msg.topic == f"{BASE}/say"
    assert decode_say(msg.topic, msg.payload).text == documented["text"]


def test_done_state_confirms_and_speaking_state_does_not(codec: VipctlIntercomCodec) -> None:
    arrival = Announcement(**json.loads(EXAMPLES["intercom.say.arrival"]))
    wanted = codec.announcement_confirmation(arrival)
    speaking = codec.decode(f"{BASE}/state", EXAMPLES["intercom.state.speaking"])
    done = codec.decode(f"{BASE}/state", EXAMPLES["intercom.state.done"])
    assert speaking is not None and done is not None
    assert not matches(speaking.state, wanted)  # queued or in progress is not proof
    assert speaking.state[SPEAKING] == arrival.id
    assert speaking.state["queue"] == 1
    assert matches(done.state, wanted)
    assert done.state[SPEAKING] == ""


def test_documented_events_decode(codec: VipctlIntercomCodec) -> None:
    topic = f"{BASE}/event"
    arrival = "visit-42/arrival"

    def state(name: str) -> object:
        update = codec.decode(topic, EXAMPLES[f"intercom.event.{name}"])
        assert update is not None
        return dict(update.state)

    assert state("queued") == {QUEUED: arrival}
    assert state("started") == {SPEAKING: arrival}
    assert state("done") == {ANNOUNCED: arrival}
    assert state("duplicate") == {ANNOUNCED: arrival}  # a re-sent answer confirms as well
    assert state("failed") == {FAILED: "visit-44/show-flat", "error": "audio output: device busy"}
    assert state("refused")[FAILED] == "visit-45/arrival"  # type: ignore[index]
    ev = decode_event(topic, EXAMPLES["intercom.event.duplicate"])
    assert ev == IntercomEvent(arrival, "done", 1795833810.0, None, True)


def test_subscriptions_query_and_availability(codec: VipctlIntercomCodec) -> None:
    assert codec.subscriptions() == [f"{BASE}/state", f"{BASE}/event", f"{BASE}/availability"]
    assert [m.topic for m in codec.query()] == [f"{BASE}/get"]
    assert codec.decode(f"{BASE}/availability", b"offline") == Update(available=False)
    assert codec.decode(f"{BASE}/say", EXAMPLES["intercom.say.arrival"]) is None
    assert codec.decode("vipctl/intercom/other/state", EXAMPLES["intercom.state.done"]) is None


# --- the controller's side ----------------------------------------------------------------


def test_intercom_has_nothing_to_set(codec: VipctlIntercomCodec) -> None:
    assert codec.encode({}) == []
    for attribute in ("power", "volume", "announced"):
        with pytest.raises(UnsupportedCommand) as err:
            codec.encode({attribute: True})
        assert err.value.attribute == attribute


@pytest.mark.parametrize(
    "bad",
    [Announcement("", "x"), Announcement("a", ""), Announcement("a", "   "),
     Announcement("a", "x", priority=10), Announcement("a", "x", priority=-1),
     Announcement("a" * 129, "x"), Announcement("a", "x" * 1001), Announcement("a", "x", lang="fr"),
     Announcement("a", "x", priority=True)],
)
def test_announce_refuses_what_breaks_the_schema(
    codec: VipctlIntercomCodec, bad: Announcement
) -> None:
    with pytest.raises(UnsupportedCommand) as err:
        codec.announce(bad)
    assert err.value.attribute == "announce"


GARBAGE = [b"not json", b"\xff\xfe", b"[]", b"null", b"{", b"x" * (1024 * 1024),
           b'{"status": "busy"}', b'{"queue": -1}', b'{"queue": "2"}', b'{"announced": 42}',
           b'{"speaking": ["a"]}', b"[" * 30_000 + b"]" * 30_000]


@pytest.mark.parametrize("payload", GARBAGE, ids=lambda p: repr(p[:24]))
def test_garbage_state_is_a_decode_error(codec: VipctlIntercomCodec, payload: bytes) -> None:
    with pytest.raises(DecodeError) as err:
        codec.decode(f"{BASE}/state", payload)
    assert err.value.topic == f"{BASE}/state"


@pytest.mark.parametrize(
    "payload",
    [b"{}", b'{"id": "a"}', b'{"id": "a", "event": 3}', b'{"id": 7, "event": "done"}',
     b'{"id": "a", "event": "done", "at": "noon"}', b'{"id": "a", "event": "done", "at": 1e999}',
     b'{"id": "a", "event": "done", "at": 1' + b"0" * 400 + b"}",
     b'{"id": "a", "event": "failed", "error": 5}', b'{"id": "a", "event": "done", "duplicate": 1}',
     b"x" * (1024 * 1024)],
)
def test_garbage_event_is_a_decode_error(codec: VipctlIntercomCodec, payload: bytes) -> None:
    with pytest.raises(DecodeError):
        codec.decode(f"{BASE}/event", payload)


def test_unknown_fields_and_events_are_ignored(codec: VipctlIntercomCodec) -> None:
    state = b'{"status": "idle", "queue": 0, "announced": "a", "volume_db": -3, "x": {}}'
    assert codec.decode(f"{BASE}/state", state) == Update(
        state={"status": "idle", "queue": 0, ANNOUNCED: "a"}
    )
    assert codec.decode(f"{BASE}/event", b'{"id": "a", "event": "chimed"}') == Update()
    refused_unreadable = b'{"id": null, "event": "refused", "error": "not JSON"}'
    assert codec.decode(f"{BASE}/event", refused_unreadable) == Update()
    assert codec.decode(f"{BASE}/state", b"") == Update()


# --- the gateway's side -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "readable_id"),
    [(b"{", None), (b'{"text": "hi"}', None), (b'{"id": "a", "text": 5}', "a"),
     (b'{"id": "a", "text": "hi", "priority": 12}', "a"),
     (b'{"id": "a", "text": "hi", "priority": "9"}', "a"),
     (b'{"id": "a", "text": "hi", "priority": 5.0}', "a"),
     (b'{"id": "a", "text": "hi", "voice": "f1"}', "a"), (b"x" * (1024 * 1024), None)],
)
def test_gateway_refuses_bad_says_keeping_the_id(payload: bytes, readable_id: str | None) -> None:
    with pytest.raises(RefusedSay) as err:
        decode_say(f"{BASE}/say", payload)
    assert err.value.id == readable_id
    assert err.value.topic == f"{BASE}/say"


def test_say_defaults_priority_and_language() -> None:
    a = decode_say(f"{BASE}/say", b'{"id": "a", "text": "\\u738b\\u5148\\u751f"}')
    assert a == Announcement("a", "王先生", priority=5, lang="zh")


def test_gateway_state_and_events_round_trip(codec: VipctlIntercomCodec) -> None:
    msg = encode_state(BASE, {"status": "speaking", SPEAKING: "b", "queue": 2, ANNOUNCED: ""})
    assert msg.retain is True
    assert json.loads(msg.payload) == {"status": "speaking", "speaking": "b", "queue": 2,
                                       "announced": None}
    ev = encode_event(BASE, IntercomEvent("b", "failed", error="amp off"))
    assert ev.retain is False
    decoded = decode_event(ev.topic, ev.payload)
    assert (decoded.id, decoded.event, decoded.error) == ("b", "failed", "amp off")
    assert decoded.at is not None


def test_queue_orders_by_priority_then_arrival() -> None:
    q = AnnouncementQueue()
    for ident, priority in [("low", 1), ("mid1", 5), ("high", 9), ("mid2", 5), ("mid3", 5)]:
        q.push(Announcement(ident, "x", priority=priority))
    order = []
    while (a := q.pop()) is not None:
        order.append(a.id)
    assert order == ["high", "mid1", "mid2", "mid3", "low"]


def test_queue_remembers_ids_and_refuses_when_full() -> None:
    q = AnnouncementQueue(capacity=2, memory=3)
    q.push(Announcement("a", "x"))
    q.push(Announcement("b", "x"))
    with pytest.raises(ValueError, match="full"):
        q.push(Announcement("c", "x"))
    assert q.last_event("a") == "queued"
    assert q.last_event("c") is None  # refused, so not remembered
    for ident, ok in (("a", True), ("b", False)):
        popped = q.pop()
        assert popped is not None and popped.id == ident
        assert q.last_event(ident) == "started"
        q.finish(ident, ok=ok)
    assert (q.last_event("a"), q.last_event("b"), len(q)) == ("done", "failed", 0)
    q.push(Announcement("d", "x"))
    q.push(Announcement("e", "x"))
    assert q.last_event("a") is None  # forgotten: memory holds the 3 most recent ids
    assert q.last_event("b") == "failed"
