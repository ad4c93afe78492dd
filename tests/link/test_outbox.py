"""The site's event log on vipctl/<site>/events: every row once, in order, with its visit;
a restarted daemon goes on from its cursor. Real mosquitto, the whole site."""

from __future__ import annotations

from pathlib import Path

from controller.link.outbox import CURSOR_KEY
from controller.store.visits import VisitStatus
from tests.broker import Mosquitto
from tests.link.listener import listening
from tests.scenario.rig import SiteRig, site_rig
from tests.waiting import eventually


def _ids(rig: SiteRig) -> list[str]:
    """Every event id of the site's log, oldest first, as head office names them."""
    events = rig.daemon.events.query(limit=1000)
    return [f"demo:{e.id}" for e in reversed(events)]


async def test_every_event_goes_once_in_order_and_a_restart_goes_on_from_the_cursor(
        tmp_path: Path, mosquitto: Mosquitto, topic_prefix: str) -> None:
    async with listening(mosquitto.host, mosquitto.port, topic_prefix,
                         topic="vipctl/demo/events") as hq:
        async with site_rig(tmp_path, mosquitto, topic_prefix) as rig:
            visit = await rig.book(in_seconds=86400)
            await rig.daemon.press("vip_now", source="test")
            first = await eventually(lambda: (ids := _ids(rig)) == [m.id for m in hq.events("demo")]
                                     and ids)
            # Saved once the broker acknowledged them, a moment after they reached head office.
            last = int(first[-1].split(":")[1])
            await eventually(lambda: rig.daemon.db.load_value(CURSOR_KEY) == {"id": last})
        sent = hq.events("demo")
        assert [m.seq for m in sent] == sorted({m.seq for m in sent})  # in order, once each
        booked = next(m for m in sent if m.visit_id == visit.id)
        assert booked.visit is not None and booked.visit.salutation == "王先生"
        assert booked.visit.status is VisitStatus.BOOKED
        assert all(m.site == "demo" and m.id == f"demo:{m.seq}" for m in sent)
        assert last == sent[-1].seq

        # The same site again (its database, its cursor): only what is new goes out.
        async with site_rig(tmp_path, mosquitto, topic_prefix) as rig:
            await rig.daemon.press("departure", source="test")
            await eventually(lambda: _ids(rig) == [m.id for m in hq.events("demo")])
            ids = [m.id for m in hq.events("demo")]
            assert len(ids) == len(set(ids)) and ids[: len(first)] == first
            assert len(ids) > len(first)


async def test_an_event_with_text_utf8_cannot_encode_is_sent_and_so_are_the_next(
        tmp_path: Path, mosquitto: Mosquitto, topic_prefix: str) -> None:
    # A lone surrogate: what a device's non-UTF-8 garbage can leave in an event's detail.
    async with listening(mosquitto.host, mosquitto.port, topic_prefix,
                         topic="vipctl/demo/events") as hq, \
            site_rig(tmp_path, mosquitto, topic_prefix) as rig:
        odd = rig.daemon.events.append("garbage", device_id="vip_room_video",
                                       detail={"text": "\ud800 playing"})
        after = rig.daemon.events.append("alert", detail={"message": "next"})
        await eventually(lambda: {f"demo:{odd.id}", f"demo:{after.id}"}
                         <= {m.id for m in hq.events("demo")})
        sent = next(m for m in hq.events("demo") if m.seq == odd.id)
        assert sent.detail == {"text": "\\ud800 playing"}  # its escape, as text
