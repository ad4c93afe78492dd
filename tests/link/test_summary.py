"""The retained summary on vipctl/<site>/summary: the visit under way, the next ones, the
devices in trouble; sent again on a change. Real mosquitto, the whole site."""

from __future__ import annotations

from pathlib import Path

from tests.broker import Mosquitto
from tests.link.listener import listening
from tests.scenario.rig import site_rig
from tests.waiting import eventually


async def test_the_summary_shows_the_visits_and_the_devices_in_trouble(
        tmp_path: Path, mosquitto: Mosquitto, topic_prefix: str) -> None:
    async with site_rig(tmp_path, mosquitto, topic_prefix) as rig, \
            listening(mosquitto.host, mosquitto.port, topic_prefix,
                      topic="vipctl/demo/summary") as hq:
        later = await rig.book(in_seconds=86400)
        after = await rig.book(in_seconds=2 * 86400, surname="李", honorific="女士")

        def coming() -> list[str]:
            summaries = hq.summaries("demo")
            return [v.id for v in summaries[-1].next] if summaries else []

        await eventually(lambda: coming() == [later.id, after.id])
        summary = hq.summaries("demo")[-1]
        assert summary.site == "demo" and summary.name == rig.site.site.name
        assert summary.current is None and summary.preflight is None
        assert summary.next[1].salutation == "李女士"

        visit_id = (await rig.daemon.press("vip_now", source="test")).split()[-1]
        await rig.sims["model_area_lights"].go_offline()
        await eventually(lambda: (s := hq.summaries("demo")[-1]).current is not None
                         and s.current.id == visit_id
                         and any(p.device_id == "model_area_lights"
                                 and p.problem == "unavailable" for p in s.devices_in_trouble))

    # Retained: a head office that connects now has it at once.
    async with listening(mosquitto.host, mosquitto.port, topic_prefix,
                         topic="vipctl/demo/summary") as late:
        await eventually(lambda: late.summaries("demo"))
        assert late.heard[0].retain
        await late.publish("vipctl/demo/summary", b"", retain=True)
