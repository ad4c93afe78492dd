"""Two sites and head office on three Mosquitto processes, joined by the bridge sections
`vipctl bridge-config` prints: a whole visit at each site with its simulators while head
office's broker is stopped and started again; bookings from head office across a link
that was down, on a head-office broker with the logins and ACL lines the command printed.
Real brokers, daemons and simulators; nothing here is mocked."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import timedelta
from pathlib import Path

import pytest

from controller.link.wire import LINK_UP, BookingRequest
from controller.store.visits import Visit, VisitStatus
from tests.broker import Mosquitto, make_password_file
from tests.link.bridges import bridged_site, head_office, hq_acl
from tests.link.listener import Listener
from tests.scenario.rig import SAID_FOR_WANG, SiteRig, site_rig
from tests.waiting import eventually

pytestmark = pytest.mark.xdist_group("hq")

SPEED = 600.0  # the preparation's 45 minutes in 4.5 s
ARRIVAL = "王先生已到访,请各岗位做好接待工作"


@asynccontextmanager
async def brokers(tmp_path: Path, prefix: str, sites: list[str], *, logins: bool = False,
                  ) -> AsyncIterator[tuple[Mosquitto, dict[str, Mosquitto]]]:
    """Head office's broker and one bridged broker per site. `logins`: head office's broker
    refuses anonymous clients, and its ACL is the lines `vipctl bridge-config` printed for
    each site (its login `<site>`) plus head office's own `hq` (everything under vipctl/)."""
    if logins:
        passwords = make_password_file(tmp_path / "hq.passwd",
                                       {user: f"pw-{user}" for user in ["hq", *sites]})
        hq = Mosquitto(persistence=True, password_file=passwords,
                       acl_file=tmp_path / "hq.acl")
    else:
        hq = Mosquitto(persistence=True)
    acl = ["user hq", "topic readwrite vipctl/#"]
    made: dict[str, Mosquitto] = {}
    for site in sites:
        args = ("--user", site, "--password-env", "HQ_PASSWORD") if logins else ()
        made[site], printed = bridged_site(tmp_path / site, hq, prefix, site, *args,
                                           env={"HQ_PASSWORD": f"pw-{site}"})
        acl += hq_acl(printed)
    (tmp_path / "hq.acl").write_text("\n".join(acl) + "\n")
    started: list[Mosquitto] = []
    try:
        for broker in [hq, *made.values()]:
            broker.start()
            started.append(broker)
        yield hq, made
    finally:
        for broker in reversed(started):
            broker.stop()


def site_ids(rig: SiteRig) -> set[str]:
    return {f"{rig.site.site.id}:{e.id}" for e in rig.daemon.events.query(limit=1000)}


def link_up(office: Listener, site: str) -> bool:
    heard = office.on(f"vipctl/{site}/link")
    return bool(heard) and heard[-1].payload.decode() == LINK_UP


async def show_flat_and_departure(rigs: dict[str, SiteRig], visits: dict[str, Visit]) -> None:
    """The rest of each site's visit, pressed at every site together: done, and every
    announcement said once, in order."""
    for trigger, said in (("show_flat", SAID_FOR_WANG[4]), ("departure", SAID_FOR_WANG[5])):
        for rig in rigs.values():
            assert (await rig.engine.trigger(trigger, source="test")).accepted
        await eventually(lambda s=said: all(s in r.said() for r in rigs.values()))
    for site, rig in rigs.items():
        await eventually(lambda r=rig, v=visits[site]:
                         r.daemon.book.get(v.id).status is VisitStatus.DONE)
        assert rig.said() == SAID_FOR_WANG


async def test_two_whole_visits_and_head_office_down_for_part_of_them(
        tmp_path: Path, topic_prefix: str) -> None:
    async with brokers(tmp_path, topic_prefix, ["north", "south"]) as (hq, sites), \
            head_office(hq, f"hq-{topic_prefix}") as office, AsyncExitStack() as stack:
        rigs = {site: await stack.enter_async_context(
                    site_rig(tmp_path / site, broker, topic_prefix, speed=SPEED, site_id=site))
                for site, broker in sites.items()}
        await eventually(lambda: all(link_up(office, s) for s in rigs))
        visits = {s: await rig.book(start=rig.now() + timedelta(seconds=5)) for s, rig in
                  rigs.items()}
        # The preparation is under way (T-45: the air conditioning) when head office goes.
        await eventually(lambda: all(r.sims["vip_room_ac"].state.get("power") for r in
                                     rigs.values()))
        before = {s: site_ids(r) for s, r in rigs.items()}
        await asyncio.to_thread(hq.stop)
        # The reminders and the arrival go on at the sites, head office down.
        await eventually(lambda: all(len(r.said()) >= 3 for r in rigs.values()))
        for rig in rigs.values():
            assert (await rig.engine.trigger("arrival", source="test")).accepted
        await eventually(lambda: all(ARRIVAL in r.said() for r in rigs.values()))
        during = {s: site_ids(r) - before[s] for s, r in rigs.items()}
        await asyncio.to_thread(hq.start)
        await show_flat_and_departure(rigs, visits)

        # Head office has every event of both sites, each id once it is deduplicated.
        for site, rig in rigs.items():
            await eventually(lambda r=rig, s=site: {m.id for m in office.events(s)}
                             == site_ids(r), timeout=30, what=f"all of {site}'s events at HQ")
            sent = [m.id for m in office.events(site)]
            seqs = [m.seq for m in office.events(site)]
            visit_events = [m for m in office.events(site) if m.visit_id == visits[site].id]
            assert visit_events and visit_events[-1].visit is not None
            first_seen = list(dict.fromkeys(seqs))  # a re-sent message comes again later
            assert first_seen == sorted(first_seen)
            print(f"\n[outage] site {site}: events {len(site_ids(rig))} total, "
                  f"{len(during[site])} written while head office was down, "
                  f"{len(sent) - len(set(sent))} duplicates at head office")
            await eventually(lambda s=site: office.summaries(s),
                             what=f"{site}'s summary at head office")


async def test_bookings_from_head_office_across_a_link_that_was_down(
        tmp_path: Path, topic_prefix: str) -> None:
    async with brokers(tmp_path, topic_prefix, ["east"], logins=True) as (hq, sites), \
            head_office(hq, f"hq-{topic_prefix}", "hq", "pw-hq") as office, \
            site_rig(tmp_path / "east", sites["east"], topic_prefix, speed=SPEED,
                     site_id="east") as rig:
        assert rig.daemon.link is not None
        await rig.daemon.link.transport.wait_connected(10)
        await eventually(lambda: link_up(office, "east"))
        start = (rig.now() + timedelta(days=1)).replace(second=0, microsecond=0)

        def request(request_id: str, at: timedelta = timedelta(0)) -> str:
            return BookingRequest(request_id=request_id, requested_by="hq-desk", visit={
                "surname": "赵", "honorific": "总", "start": (start + at).isoformat(),
            }).model_dump_json()

        # The site's broker goes (the bridge with it): head office's broker keeps the
        # bridge's session and queues the request; the site's broker keeps the daemon's.
        await asyncio.to_thread(sites["east"].stop)
        await eventually(lambda: office.on("vipctl/east/link")[-1].payload == b"0")
        await office.client.publish("vipctl/east/bookings/request", request("b-1"), qos=1)
        await asyncio.to_thread(sites["east"].start)
        ok = (await eventually(lambda: office.replies("east", "b-1"), timeout=30))[0]
        assert ok.ok and ok.visit is not None and ok.visit.salutation == "赵总"

        await office.client.publish("vipctl/east/bookings/request",
                                    request("b-2", timedelta(minutes=20)), qos=1)
        refused = (await eventually(lambda: office.replies("east", "b-2")))[0]
        assert not refused.ok and refused.collides_with == ok.visit.id
        assert refused.next_free is not None and refused.next_free >= ok.visit.end

        # The bridge (or head office) sends b-1 again: the same answer, one visit.
        await office.client.publish("vipctl/east/bookings/request", request("b-1"), qos=1)
        await eventually(lambda: len(office.replies("east", "b-1")) == 2)
        assert office.replies("east", "b-1")[1] == ok
        assert [v.id for v in rig.daemon.book.list(statuses=[VisitStatus.BOOKED])] == \
            [ok.visit.id]
