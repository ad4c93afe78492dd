"""Every discovery payload vipctl publishes, checked with Home Assistant 2024.3's own MQTT
schemas (in its virtual environment: tests/homeassistant/ha_schemas.py), so that a broken
payload fails here even where the slow test with a running Home Assistant is skipped; and
the state and event payloads the entities read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from controller.config.site import load_site
from controller.daemon import Daemon
from controller.homeassistant.discovery import OTHER, HaSite, announcement, configs, state
from controller.link.wire import DeviceProblem, Summary, VisitSnapshot
from controller.store.visits import VisitStatus
from scenes.loader import load_scene
from tests.broker import Mosquitto
from tests.homeassistant.conftest import ha_schema_check, ha_site_extra
from tests.scenario.rig import site_file
from tests.sitefiles import HEAD, LIGHT, problems, write

NOW = datetime(2026, 5, 1, 14, 0, tzinfo=UTC)


def test_every_config_the_daemon_publishes_passes_home_assistants_schemas(
        tmp_path: Path, ha_python: Path) -> None:
    # The daemon's own configs, from the demo site and the shipped scene, with a topic prefix.
    site = load_site(site_file(tmp_path, Mosquitto(), "north",
                               extra=ha_site_extra("homeassistant")))
    daemon = Daemon(site, load_scene(known_targets=set(site.devices) | set(site.groups)))
    try:
        assert daemon.homeassistant is not None
        published = daemon.homeassistant.configs
    finally:
        daemon.db.close()
        if daemon._db_lock is not None:  # noqa: SLF001 - a daemon never started
            daemon._db_lock.release()  # noqa: SLF001
    assert len(published) == 11
    result = ha_schema_check(ha_python, "homeassistant", published)
    assert result["version"] == "2024.3.3"
    assert result["errors"] == {}
    assert result["ignored"] == {}  # no key that Home Assistant would drop unread


def test_the_checker_does_catch_a_broken_payload(ha_python: Path) -> None:
    site = HaSite(site_id="s", name="S", prefix="homeassistant", status_topic="vipctl/x/status")
    good = configs(site)
    button = site.config_topic("button", "arrival")
    sensor = site.config_topic("sensor", "guest")
    broken = {
        button: {**good[button], "command_topic": "a/+/wildcard"},
        sensor: {**good[sensor], "device_class": "guest", "valu_template": "{{ x }}"},
        "homeassistant/lamp/vipctl_s/x/config": good[button],
    }
    result = ha_schema_check(ha_python, "homeassistant", broken)
    assert set(result["errors"]) == set(broken)
    assert "command_topic" in result["errors"][button]
    assert "device_class" in result["errors"][sensor]


def snapshot(status: VisitStatus, start: datetime, surname: str = "王") -> VisitSnapshot:
    return VisitSnapshot(id=f"v-{surname}", salutation=f"{surname}先生", surname=surname,
                         honorific="先生", start=start, end=start + timedelta(hours=1),
                         status=status, source="test")


def test_the_state_shows_the_guest_engaged_the_next_visit_and_devices_in_trouble() -> None:
    idle = state(Summary(site="s", name="S", at=NOW), NOW)
    assert idle["guest"] is None and idle["status"] == "idle" and idle["engaged"] == "OFF"
    assert idle["next_start"] is None and idle["minutes_to_next"] is None
    assert idle["device_problems"] == 0

    coming = snapshot(VisitStatus.BOOKED, NOW + timedelta(minutes=90, seconds=30), "李")
    for status, engaged in ((VisitStatus.PREPARING, "OFF"), (VisitStatus.ARRIVED, "ON"),
                            (VisitStatus.AT_SHOW_FLAT, "ON"), (VisitStatus.DEPARTING, "OFF")):
        summary = Summary(site="s", name="S", at=NOW, current=snapshot(status, NOW),
                          next=[coming], devices_in_trouble=[
                              DeviceProblem(device_id="ac", problem="unavailable"),
                              DeviceProblem(device_id="ac", problem="failed", message="no"),
                              DeviceProblem(device_id="dmx", problem="failed", message="x")])
        got = state(summary, NOW)
        assert (got["guest"], got["status"], got["engaged"]) == ("王先生", status.value, engaged)
        assert got["next_start"] == coming.start.isoformat()
        assert got["minutes_to_next"] == 90
        assert got["next"] == {"id": "v-李", "guest": "李先生"}
        assert got["device_problems"] == 2
        assert got["devices"] == {"ac": "unavailable; failed: no", "dmx": "failed: x"}


def test_announcements_fire_as_the_scene_step_or_other() -> None:
    site = HaSite(site_id="s", name="S", prefix="ha", status_topic="st",
                  announcement_types=("f1-arrival",))
    said = announcement(site, {"step": "f1-arrival", "text": "王先生已到访", "id": "a1"})
    assert said == {"event_type": "f1-arrival", "step": "f1-arrival", "text": "王先生已到访",
                    "id": "a1"}
    assert announcement(site, {"step": "alert", "text": "t"})["event_type"] == OTHER
    event = configs(site)[site.config_topic("event", "announcement")]
    assert event["event_types"] == ["f1-arrival", OTHER]


def test_only_the_buttons_topics_are_presses() -> None:
    site = HaSite(site_id="s", name="S", prefix="ha", status_topic="st", topic_prefix="p")
    assert site.trigger_of("p/vipctl/s/ha/press/arrival") == "arrival"
    assert site.trigger_of("p/vipctl/s/ha/press/vip_now") == "vip_now"
    assert site.trigger_of("p/vipctl/s/ha/press/cancel") is None
    assert site.trigger_of("vipctl/s/ha/press/arrival") is None
    assert site.trigger_of("p/vipctl/other/ha/press/arrival") is None


def test_the_site_files_homeassistant_section(tmp_path: Path) -> None:
    assert load_site(write(tmp_path, HEAD + LIGHT)).homeassistant is None
    on = load_site(write(tmp_path, HEAD + LIGHT + "homeassistant: {discovery: true}\n"))
    assert on.homeassistant is not None
    assert (on.homeassistant.discovery, on.homeassistant.prefix) == (True, "homeassistant")
    bad = write(tmp_path, HEAD + LIGHT + 'homeassistant:\n  discovery: "on"\n  prefix: ha/+\n'
                "  node: x\n")
    found = [p.removeprefix(f"{bad}:") for p in problems(bad)]
    assert len(found) == 3
    assert found[0].startswith("11: homeassistant.discovery: Input should be a valid boolean")
    assert found[1].startswith("12: homeassistant.prefix:") and "+" in found[1]
    assert found[2].startswith("13: homeassistant.node:")
