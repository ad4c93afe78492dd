"""GET /metrics over real HTTP after a whole visit on the test rig (real mosquitto, the
simulators, the daemon at x600), parsed with prometheus-client's own parser."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from controller.auth.settings import Role
from controller.config.api import ApiSettings
from controller.store.visits import VisitStatus
from tests.api.harness import api_site, bearer, served
from tests.broker import Mosquitto
from tests.scenario.rig import ROOT, SAID_FOR_WANG
from tests.waiting import eventually

SCRAPE_ENV = "VIPCTL_TEST_METRICS_TOKEN"
SCRAPE_TOKEN = "scrape-only-token-0123456789"
WITH_SCRAPE_TOKEN = f"api:\n  metrics_token_env: {SCRAPE_ENV}\n"


README = ROOT / "README.md"
DASHBOARD = ROOT / "docs" / "grafana-vipctl.json"


def monitoring_section() -> str:
    return README.read_text(encoding="utf-8").split("## Monitoring\n")[1].split("\n## ")[0]


def documented_names() -> set[str]:
    """Every metric the README's Monitoring section and the Grafana dashboard name."""
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel.get("targets", [])]
    text = " ".join([monitoring_section(), *exprs])
    return set(re.findall(r"\b((?:vipctl|process)_[a-z_]+[a-z])", text))


@pytest.fixture(autouse=True)
def _scrape_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SCRAPE_ENV, SCRAPE_TOKEN)


def samples(text: str) -> Iterator[Sample]:
    for family in text_string_to_metric_families(text):
        yield from family.samples


def value(text: str, name: str, **labels: str) -> float:
    found = [s.value for s in samples(text) if s.name == name and s.labels == labels]
    assert len(found) == 1, (name, labels, found)
    return found[0]


def by_label(text: str, name: str, label: str) -> dict[str, float]:
    return {s.labels[label]: s.value for s in samples(text) if s.name == name}


async def scrape(url: str, token: str) -> str:
    async with httpx.AsyncClient(base_url=url, timeout=10) as client:
        response = await client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return response.text


async def test_a_whole_visit_in_the_metrics(tmp_path: Path, mosquitto: Mosquitto,
                                           topic_prefix: str) -> None:
    async with (api_site(tmp_path, mosquitto, topic_prefix, extra=WITH_SCRAPE_TOKEN) as site,
                served(site) as server):
        rig = site.rig
        visit = await rig.book(start=rig.now() + timedelta(seconds=5.0))
        await eventually(lambda: len(rig.said()) >= 3, timeout=15)
        for trigger, said in (("arrival", 4), ("show_flat", 5), ("departure", 6)):
            assert (await rig.engine.trigger(trigger, source="test")).accepted
            await eventually(lambda n=said: len(rig.said()) >= n)  # type: ignore[misc]
        await eventually(lambda: rig.daemon.book.get(visit.id).status is VisitStatus.DONE)
        await eventually(lambda: rig.daemon.announcer.idle())
        text = await scrape(server.url, SCRAPE_TOKEN)

        # Every cue of the visit started once, its lateness observed (the scene's cues that
        # ran: those in the ledger that are not a hold, the no-show or the restore).
        cues = {key for key in rig.daemon.ledger.done(visit.id)
                if not key.startswith("hold:") and key not in ("restore", "no-show", "preflight")}
        counted = by_label(text, "vipctl_cue_lateness_seconds_count", "cue")
        assert counted == dict.fromkeys(cues, 1.0)
        for cue in cues:
            late = value(text, "vipctl_cue_lateness_seconds_sum", cue=cue)
            # On time is a few ms; a cue behind the commit of three holds' claims, on a
            # machine busy with other work, was seen 0.5 s late.
            assert 0 <= late < 3.0, (cue, late)
            assert value(text, "vipctl_cue_lateness_seconds_bucket", cue=cue, le="+Inf") == 1

        # Commands confirmed per convention: as many as the event log's confirmations by
        # report (an assumed device's are its own word, and not timed).
        conventions = {d.id: d.codec.convention for d in rig.daemon.registry.devices.values()}
        logged: dict[str, float] = {}
        for event in rig.daemon.events.query(kinds=["confirmed"], limit=1000):
            if not event.detail.get("assumed") and event.device_id is not None:
                convention = conventions[event.device_id]
                logged[convention] = logged.get(convention, 0) + 1
        confirmed = by_label(text, "vipctl_command_confirmation_seconds_count", "convention")
        assert confirmed == logged
        assert {"tasmota", "zigbee2mqtt", "vipctl-media", "vipctl-intercom"} <= set(confirmed)
        assert by_label(text, "vipctl_commands_failed_total", "device") == dict.fromkeys(
            conventions, 0.0)

        # Announcements played: what the intercom simulator said, word for word.
        assert rig.said() == SAID_FOR_WANG
        played = value(text, "vipctl_announcements_played_total", intercom="staff_intercom")
        assert played == len(SAID_FOR_WANG)
        assert value(text, "vipctl_announcements_failed_total", intercom="staff_intercom") == 0
        assert value(text, "vipctl_announcement_queue_depth", intercom="staff_intercom") == 0
        visits = by_label(text, "vipctl_visits", "status")
        assert visits == {**dict.fromkeys((s.value for s in VisitStatus), 0.0), "done": 1.0}
        # The process basics, from prometheus-client's own collectors.
        assert value(text, "process_resident_memory_bytes") > 0
        assert any(s.name == "python_info" for s in samples(text))
        # Every name the README and the dashboard use is one the daemon exports.
        exported = {f.name for f in text_string_to_metric_families(text)}
        exported |= {s.name for s in samples(text)}
        assert len(documented_names()) > 10
        assert documented_names() <= exported, documented_names() - exported


def test_the_readme_scrape_token_example_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    block = next(b for b in monitoring_section().split("```yaml\n")[1:]
                 if b.startswith("api:"))
    monkeypatch.setenv("VIPCTL_METRICS_TOKEN", SCRAPE_TOKEN)
    settings = ApiSettings.model_validate(yaml.safe_load(block.split("```")[0])["api"])
    assert settings.metrics_token is not None
    assert settings.metrics_token.get_secret_value() == SCRAPE_TOKEN


async def test_who_may_scrape_and_a_device_offline(tmp_path: Path, mosquitto: Mosquitto,
                                                  topic_prefix: str) -> None:
    async with (api_site(tmp_path, mosquitto, topic_prefix, extra=WITH_SCRAPE_TOKEN) as site,
                served(site) as server):
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
            refused = await client.get("/metrics")
            assert refused.status_code == 401
            assert "vipctl_" not in refused.text
            wrong = await client.get("/metrics", headers={"Authorization": "Bearer not-it-at-all"})
            assert wrong.status_code == 401
            # The scrape token opens /metrics and nothing else.
            elsewhere = await client.get("/visits",
                                         headers={"Authorization": f"Bearer {SCRAPE_TOKEN}"})
            assert elsewhere.status_code == 401
            viewer = await client.get("/metrics", headers=bearer(Role.VIEWER))
            assert viewer.status_code == 200

        text = await scrape(server.url, SCRAPE_TOKEN)
        available = by_label(text, "vipctl_device_available", "device")
        assert set(available) == set(site.rig.site.devices)
        assert available["model_area_lights"] == 1

        # A device that drops off the broker (its last will fires) shows 0, and 1 again when
        # it is back.
        lights = site.rig.sims["model_area_lights"]
        await lights.go_offline()
        await eventually(lambda: site.rig.daemon.registry["model_area_lights"].available is False)
        text = await scrape(server.url, TOKEN_VIEWER)
        assert value(text, "vipctl_device_available", device="model_area_lights") == 0
        assert value(text, "vipctl_device_available", device="hall_lights") == 1
        await lights.come_back()
        await eventually(lambda: site.rig.daemon.registry["model_area_lights"].available is True)
        text = await scrape(server.url, SCRAPE_TOKEN)
        assert value(text, "vipctl_device_available", device="model_area_lights") == 1
        assert not math.isnan(value(text, "process_cpu_seconds_total"))


TOKEN_VIEWER = bearer(Role.VIEWER)["Authorization"].removeprefix("Bearer ")
