"""The API's docs on a LAN without internet: /docs (Swagger UI) and /redoc (ReDoc) in a real
Chromium that may reach the test server and nothing else. Both show the API's operations, and
every request the browser made went to the server's own origin (without the pages' policy,
ReDoc asks cdn.redoc.ly for its logo: controller/api/docs.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Route

from controller.api.server import ApiServer
from tests.api.harness import ApiSite, served
from tests.web.browser import phone

# The bundles the pages load, as the app serves them.
ASSETS = ("/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css",
          "/docs/assets/redoc.standalone.js")


@pytest.fixture
async def server(site: ApiSite) -> AsyncIterator[ApiServer]:
    async with served(site) as running:
        yield running


class Offline:
    """Lets requests to `origin` through and aborts every other one, keeping both lists."""

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.allowed: list[str] = []
        self.blocked: list[str] = []

    async def __call__(self, route: Route) -> None:
        url = route.request.url
        if url.startswith(f"{self.origin}/"):
            self.allowed.append(url)
            await route.continue_()
        else:
            self.blocked.append(url)
            await route.abort("internetdisconnected")


async def test_docs_and_redoc_render_with_the_network_cut_off(
    site: ApiSite, server: ApiServer, tmp_path: Path
) -> None:
    origin = f"http://127.0.0.1:{server.port}"
    schema = (await site.client.get("/openapi.json")).json()
    operations = sum(len(methods) for methods in schema["paths"].values())
    offline = Offline(origin)
    async with phone(tmp_path) as p:
        page = p.page
        await page.context.route("**/*", offline)

        await page.goto(f"{origin}/docs")
        await page.wait_for_selector(".swagger-ui .opblock")
        assert await page.locator(".swagger-ui .opblock").count() == operations
        await page.locator(".opblock-summary-path[data-path='/visits']").first.wait_for()
        await p.shot("swagger-ui")

        await page.goto(f"{origin}/redoc")
        await page.wait_for_selector("[data-section-id^='operation/']", state="attached")
        assert await page.locator("[data-section-id^='operation/']").count() == operations
        await page.get_by_text("Times are ISO 8601").first.wait_for()
        await p.shot("redoc")

    assert offline.blocked == []
    assert offline.allowed, "the route saw no request"
    loaded = {url.removeprefix(origin) for url in offline.allowed}
    assert {"/docs", "/redoc", "/openapi.json", *ASSETS} <= loaded


async def test_the_docs_and_their_files_are_public_and_name_no_other_host(
    bare: httpx.AsyncClient
) -> None:
    for path in ("/docs", "/redoc"):
        html = await bare.get(path)
        assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
        assert "https://" not in html.text and "http://" not in html.text, path
        # What keeps ReDoc's logo from Redocly's CDN: the page may load from here only.
        assert html.headers["content-security-policy"].startswith("default-src 'self';")
    swagger = (await bare.get("/docs")).text
    assert '"validatorUrl": null' in swagger  # Swagger UI's online validator turned off
    for path in ASSETS:
        asset = await bare.get(path)
        assert asset.status_code == 200 and len(asset.content) > 100_000, path
    assert (await bare.get("/docs/oauth2-redirect")).status_code == 200
    # The public prefix is the assets folder, not everything under /docs.
    assert (await bare.get("/docs/anything-else")).status_code == 401
