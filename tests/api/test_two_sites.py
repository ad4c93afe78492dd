"""Two sites in one PostgreSQL never see each other's visits or events: each its own daemon,
API and CLI, on one database (issue 13). P1 holds per site: both may book the same hour."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from controller.auth.credentials import TOKEN_ENV
from controller.auth.settings import Role
from tests.api.harness import FAR, TOKENS, api_site, served
from tests.api.test_cli_client import parsed, vipctl
from tests.broker import Mosquitto
from tests.postgres import Postgres

pytestmark = pytest.mark.xdist_group("postgresql")


async def test_two_sites_share_a_postgresql_and_see_only_their_own(
    tmp_path: Path, mosquitto: Mosquitto, postgres: Postgres, topic_prefix: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKENS[Role.ADMIN])
    url = postgres.create_database("two_sites")
    (tmp_path / "north").mkdir()
    (tmp_path / "south").mkdir()
    async with api_site(tmp_path / "north", mosquitto, f"{topic_prefix}n", database=url,
                        site_id="north") as north, \
            api_site(tmp_path / "south", mosquitto, f"{topic_prefix}s", database=url,
                     site_id="south") as south:
        # The same hour at both: one guest each, no clash across sites.
        wang = await north.book(FAR, surname="王")
        li = await south.book(FAR, surname="李")
        clash = await north.client.post("/visits", json={
            "surname": "赵", "honorific": "先生", "start": north.at(FAR).isoformat()})
        assert clash.status_code == 409
        assert clash.json()["collides_with"] == wang["id"]

        for site, own, other in ((north, wang, li), (south, li, wang)):
            listed = (await site.client.get("/visits")).json()
            assert [v["id"] for v in listed["visits"]] == [own["id"]]
            assert (await site.client.get(f"/visits/{other['id']}")).status_code == 404
            moved = await site.client.post(f"/visits/{other['id']}/move", json={
                "start": site.at(FAR + timedelta(hours=3)).isoformat()})
            assert moved.status_code == 404
            cancelled = await site.client.post(f"/visits/{other['id']}/cancel",
                                               json={"reason": "不是本案场的"})
            assert cancelled.status_code == 404
            pressed = await site.client.post("/triggers/arrival",
                                             json={"visit_id": other["id"]})
            assert pressed.status_code == 404
            events = (await site.client.get("/events", params={"limit": 500})).json()
            visit_ids = {e["visit_id"] for e in events["events"]} - {None}
            assert other["id"] not in visit_ids

        for site, own in ((north, wang), (south, li)):  # untouched by the other's attempts
            again = (await site.client.get(f"/visits/{own['id']}")).json()
            assert (again["status"], again["start"]) == ("booked", own["start"])

        async with served(north) as north_api, served(south) as south_api:
            for server, own in ((north_api, wang), (south_api, li)):
                listed = parsed(await vipctl(server, "visit", "list", "--json"))
                assert [v["id"] for v in listed] == [own["id"]]
