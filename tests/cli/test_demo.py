"""`vipctl demo` as a user runs it: a whole visit, exit 0, a timeline, nothing left behind."""

from __future__ import annotations

import re
import signal
import socket
import time
from pathlib import Path

import pytest

from tests.broker import Mosquitto
from tests.cli.helpers import group_gone, kill_group, start
from tests.scenario.rig import SAID_FOR_WANG

ARRIVAL_TEXT = "王先生已到访,请各岗位做好接待工作"
# Every announcement of the shipped scene for the demo guest, in the order they are said,
# then the 客户管家 told of the walk-in who came during the visit (P1). The demo's rain
# sensor reports rain: the 礼宾 are told to hold umbrellas at start-10m.
UMBRELLAS = "室外正在下雨,请礼宾备好雨伞,王先生下车时为贵宾撑伞"
SAID = [*SAID_FOR_WANG[:2], UMBRELLAS, *SAID_FOR_WANG[2:],
        "贵宾接待已结束,有1位来访客户等待回电预约,请客户管家跟进"]


def line_of(out: str, pattern: str) -> str:
    found = [line for line in out.splitlines() if re.search(pattern, line)]
    assert found, f"no line matches {pattern!r} in:\n{out}"
    return found[0]


def procedure_minutes(line: str) -> float:
    """The T±MM:SS column of a timeline line, in minutes."""
    match = re.search(r"T([+-])(\d+):(\d\d)", line)
    assert match, line
    sign = -1 if match.group(1) == "-" else 1
    return sign * (int(match.group(2)) + int(match.group(3)) / 60)


def test_demo_runs_a_whole_visit_on_the_embedded_broker() -> None:
    began = time.monotonic()
    proc = start("demo", "--speed", "600", "--lead", "8")
    try:
        out, err = proc.communicate(timeout=60)
    finally:
        kill_group(proc)
    took = time.monotonic() - began
    assert proc.returncode == 0, out + err
    assert took < 40, took
    assert group_gone(proc)

    # The physical path: the arrival came from the concierge button over MQTT.
    arrival = line_of(out, r"trigger\s+arrival for 王先生, from button:concierge_button")
    # At x600 a procedure minute is 0.1 s of real time: the bounds allow a loaded machine
    # up to 0.4 s of lateness, and no earliness beyond rounding.
    assert -0.5 < procedure_minutes(arrival) < 4
    # Scaled procedure times: the air conditioning at T-45, the lights at T-5.
    assert -45.5 < procedure_minutes(line_of(out, r"cue\s+p10-air-conditioning:")) < -41
    assert -5.5 < procedure_minutes(line_of(out, r"cue\s+p2-p9-lights:")) < -1
    # The hold: the lights switched off at the wall come back on.
    hold = line_of(out, r"hold\s+model_area_lights reported power=off: held power=on")
    assert 9.5 < procedure_minutes(hold) < 14
    # A walk-in during the visit: kept for a callback, then booked after it.
    walk_in = line_of(out, r"walk-in\s+赵先生 came without a booking during v-\w+: declined")
    assert 14.5 < procedure_minutes(walk_in) < 19
    # The 客户管家 is told of the callback (once the reminder is said), then books it.
    told = out.index(line_of(out, r"walk-in\s+the 客户管家 is told: 1 callback\(s\) waiting"))
    calls = out.index(line_of(out, r"demo\s+the 客户管家 calls 赵先生 back"))
    booked = out.index(line_of(out, r"walk-in\s+walk-in 1 called back and booked as v-\w+"))
    assert told < calls < booked
    # Departure, then the restore five procedure minutes later.
    restore = line_of(out, r"restore\s+everyday state back")
    assert 59.5 < procedure_minutes(restore) < 64

    summary = out[out.index("Summary"):]
    spoken = re.findall(r"«(.+)»", summary)
    # The umbrellas and the fountain are both due at T-10: said one after the other, in
    # either order.
    assert sorted(spoken) == sorted(SAID) and spoken[:2] == SAID[:2]
    assert set(spoken[2:4]) == {UMBRELLAS, SAID_FOR_WANG[2]} and spoken[4:] == SAID[4:]
    assert re.search(r"preflight \d+ devices checked: all fine", out)
    assert "王先生 (v-" in summary and "), done" in summary
    assert "restore: done" in summary
    # Back to how the demo found them: what the scene changed, except the baseline music.
    not_as_before = re.findall(r"not as before: (\S+)", summary)
    assert "background_music" in not_as_before
    assert "P3 背景音乐常开" in line_of(summary, "not as before: background_music")
    for device in ("model_area_lights", "hall_lights", "vip_room_video", "lobby_thermostat"):
        assert device not in not_as_before
    assert "spotlights: never commanded" in summary
    assert "failures: none" in summary
    assert "nothing left running" in out
    # It ends by writing the visit's report, and says where (controller/demo/script.py).
    report = re.search(r"report of the visit \(([\d.]+) s\): (\S+\.html)", out)
    assert report is not None, out
    html = Path(report[2]).read_text(encoding="utf-8")
    assert "VIP接待报告 · 王先生" in html and "王先生已到访" in html
    assert Path(report[2]).with_suffix(".pdf").read_bytes().startswith(b"%PDF-")

    # The embedded broker is gone with the process.
    port = int(re.search(r"embedded \(amqtt, MQTT 3\.1\.1\) on mqtt://127\.0\.0\.1:(\d+)",
                         out).group(1))  # type: ignore[union-attr]
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0


def test_demo_on_an_outside_broker(mosquitto: Mosquitto, topic_prefix: str) -> None:
    proc = start("demo", "--mqtt", mosquitto.url, "--prefix", topic_prefix, "--no-api",
                 "--speed", "1200", "--lead", "4")
    try:
        out, err = proc.communicate(timeout=60)
    finally:
        kill_group(proc)
    assert proc.returncode == 0, out + err
    assert f"MQTT broker: {mosquitto.url}" in out
    assert "embedded" not in out
    assert "HTTP API" not in out
    assert ARRIVAL_TEXT in out
    assert "failures: none" in out
    assert "stopped: daemon, simulators; nothing left running" in out
    assert group_gone(proc)


@pytest.mark.parametrize("stop_with", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupted_demo_stops_everything(tmp_path: Path, stop_with: signal.Signals) -> None:
    proc = start("demo", "--no-api", "--speed", "600", "--lead", "5",
                 env={"TMPDIR": str(tmp_path)})
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 30
        while "p10-air-conditioning ok" not in proc.stdout.readline():
            assert time.monotonic() < deadline and proc.poll() is None
        names = [p.name for p in tmp_path.iterdir()]
        assert len(names) == 1 and names[0].startswith("vipctl-demo-"), names
        proc.send_signal(stop_with)
        began = time.monotonic()
        out, err = proc.communicate(timeout=10)
    finally:
        kill_group(proc)
    assert proc.returncode == 130, out + err
    assert time.monotonic() - began < 5
    assert "interrupted: stopping everything" in out
    assert "stopped: daemon, simulators, broker; nothing left running" in out
    assert "Summary" not in out
    assert group_gone(proc)
    assert list(tmp_path.iterdir()) == []  # the demo's database went with it


def test_demo_refuses_a_bad_broker_url() -> None:
    proc = start("demo", "--mqtt", "http://127.0.0.1:1883")
    try:
        out, err = proc.communicate(timeout=30)
    finally:
        kill_group(proc)
    assert proc.returncode == 2
    assert err.strip() == "--mqtt: the scheme must be mqtt:// or mqtts:// (got http://)"
    assert out == ""
