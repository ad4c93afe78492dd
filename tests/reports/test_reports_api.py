"""GET /reports, /reports/latest and /reports/{name} over real HTTP: the folder the site
file names, the viewer's credential, nothing but report files served; the concierge page's
link to the latest."""

from __future__ import annotations

from pathlib import Path

import httpx

from controller.auth.settings import Role
from controller.reports.make import write_month_report
from controller.reports.period import parse_month
from tests.api.harness import api_site, bearer, served
from tests.broker import Mosquitto

NAMED_FOLDER = "reports:\n  folder: quality\n"  # relative: to the site file's folder


async def test_the_latest_reports_served(tmp_path: Path, mosquitto: Mosquitto,
                                         topic_prefix: str) -> None:
    async with (api_site(tmp_path, mosquitto, topic_prefix, extra=NAMED_FOLDER) as site,
                served(site) as server):
        daemon = site.rig.daemon
        assert daemon.site.reports.folder == tmp_path / "quality"
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            assert (await client.get("/reports")).status_code == 401
            viewer = bearer(Role.VIEWER)
            listed = await client.get("/reports", headers=viewer)
            assert listed.status_code == 200 and listed.json() == {"reports": []}
            none = await client.get("/reports/latest", headers=viewer)
            assert none.status_code == 404 and "vipctl report" in none.json()["message"]

            # What `vipctl report month` writes for this site (its CLI test runs it).
            written = write_month_report(daemon.db, parse_month("2026-11"),
                                         folder=tmp_path / "quality", tz=daemon.tz,
                                         site_name=daemon.site.site.name)
            assert written.pdf is not None
            (tmp_path / "quality" / "notes.txt").write_text("not a report")
            (tmp_path / "site-copy.yaml").write_text("secret: 1")

            listed = await client.get("/reports", headers=viewer)
            names = [(r["name"], r["format"], r["url"]) for r in listed.json()["reports"]]
            assert sorted(names) == [
                ("month-2026-11.zh.html", "html", "/reports/month-2026-11.zh.html"),
                ("month-2026-11.zh.pdf", "pdf", "/reports/month-2026-11.zh.pdf")]
            latest = await client.get("/reports/latest", headers=viewer)
            assert latest.status_code == 307
            assert latest.headers["location"] == "/reports/month-2026-11.zh.html"
            page = await client.get(latest.headers["location"], headers=viewer)
            assert page.headers["content-type"] == "text/html; charset=utf-8"
            assert "品质月报 · 2026-11" in page.text
            pdf = await client.get("/reports/month-2026-11.zh.pdf", headers=viewer)
            assert pdf.headers["content-type"] == "application/pdf"
            assert pdf.content.startswith(b"%PDF-")
            # Only report files, and only in the folder.
            for name in ("notes.txt", "..%2Fsite-copy.yaml", "%2E%2E%2Fsite.yaml",
                         "month-2026-11.zh.exe"):
                refused = await client.get(f"/reports/{name}", headers=viewer)
                assert refused.status_code == 404, name
                assert "secret" not in refused.text

            # The concierge page links the latest.
            index = await client.get("/")
            assert 'href="/reports/latest"' in index.text
