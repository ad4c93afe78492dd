"""The page over HTTPS on a LAN: `vipctl tls-cert` makes the pair, the site file's
`api: tls:` serves it, the session cookie is Secure, HSTS when asked, and a key that does
not fit the certificate stops the API with a clear error."""

from __future__ import annotations

import asyncio
import json
import ssl
from pathlib import Path

import httpx
import pytest
from click.testing import Result
from cryptography import x509
from typer.testing import CliRunner

from controller.api.server import ApiError
from controller.api.tls import fingerprint_of
from controller.cli.main import app
from controller.config.api import ApiSettings
from tests.api.harness import PASSWORDS, ApiSite, served
from tests.sitefiles import HEAD, LIGHT, problems, write


def _tls_cert(folder: Path, *hosts: str) -> str:
    args = ["tls-cert", "--out", str(folder)]
    for host in hosts:
        args += ["--host", host]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return result.stdout


def _use_tls(site: ApiSite, folder: Path, *, hsts: bool) -> None:
    site.rig.daemon.site = site.rig.daemon.site.model_copy(update={"api": ApiSettings(
        tls={"cert": folder / "vipctl.crt", "key": folder / "vipctl.key"}, hsts=hsts)})


def test_tls_cert_makes_a_pair_for_the_lan_and_prints_its_fingerprint(tmp_path: Path) -> None:
    said = _tls_cert(tmp_path, "vip.local", "192.168.1.20")
    cert = x509.load_pem_x509_certificate((tmp_path / "vipctl.crt").read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(names.get_values_for_type(x509.DNSName)) == {"vip.local", "localhost"}
    assert {str(a) for a in names.get_values_for_type(x509.IPAddress)} == {
        "192.168.1.20", "127.0.0.1", "::1"}
    assert (tmp_path / "vipctl.key").stat().st_mode & 0o077 == 0
    assert fingerprint_of(tmp_path / "vipctl.crt") in said
    # Not over an existing pair by accident.
    again = CliRunner().invoke(app, ["tls-cert", "--out", str(tmp_path), "--host", "x"])
    assert again.exit_code == 2 and "--force" in again.stderr


async def test_the_page_over_https_with_a_secure_cookie_and_hsts(site: ApiSite,
                                                                  tmp_path: Path) -> None:
    _tls_cert(tmp_path, "vip.local")
    _use_tls(site, tmp_path, hsts=True)
    async with served(site) as server:
        assert server.url.startswith("https://127.0.0.1:")
        trusted = ssl.create_default_context(cafile=tmp_path / "vipctl.crt")
        async with httpx.AsyncClient(base_url=server.url, verify=trusted, timeout=5) as http:
            health = await http.get("/health")
            assert health.status_code == 200
            assert health.headers["strict-transport-security"] == "max-age=15552000"
            login = await http.post("/auth/login", json={"user": "concierge",
                                                         "password": PASSWORDS["concierge"]})
            assert login.status_code == 200
            flags = {f.strip().lower() for f in login.headers["set-cookie"].split(";")}
            assert {"secure", "httponly", "samesite=strict"} <= flags
            assert (await http.get("/status")).status_code == 200
        # A client that does not know the certificate is not fooled into trusting it.
        async with httpx.AsyncClient(base_url=server.url, timeout=5) as stranger:
            with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                await stranger.get("/health")
        # Plain HTTP on the HTTPS port gets nothing useful, and no login form in clear.
        async with httpx.AsyncClient(timeout=5) as plain:
            with pytest.raises(httpx.TransportError):
                await plain.get(server.url.replace("https", "http") + "/")


async def test_the_cli_trusts_the_sites_certificate_from_the_environment(
        site: ApiSite, tmp_path: Path) -> None:
    _tls_cert(tmp_path)
    _use_tls(site, tmp_path, hsts=False)
    async with served(site) as server:
        runner = CliRunner()

        def status(env: dict[str, str]) -> Result:
            return runner.invoke(app, ["status", "--json", "--api", server.url], env=env)

        ca = {"VIPCTL_API_CA": str(tmp_path / "vipctl.crt")}
        trusting = await asyncio.to_thread(status, ca)
        assert trusting.exit_code == 0, (trusting.stderr, trusting.exception)
        assert json.loads(trusting.stdout)["timezone"] == "Asia/Shanghai"
        stranger = await asyncio.to_thread(status, {})
        assert stranger.exit_code == 4 and "CERTIFICATE_VERIFY_FAILED" in stranger.stderr


async def test_a_key_that_does_not_fit_stops_the_api_with_a_clear_error(
        site: ApiSite, tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    _tls_cert(tmp_path / "a")
    _tls_cert(tmp_path / "b")
    (tmp_path / "b" / "vipctl.crt").replace(tmp_path / "a" / "vipctl.crt")
    _use_tls(site, tmp_path / "a", hsts=False)
    with pytest.raises(ApiError, match="TLS certificate or key cannot be used"):
        async with served(site):
            pass


def test_the_site_file_names_a_missing_certificate_and_hsts_without_tls(tmp_path: Path,
                                                                        ) -> None:
    path = write(tmp_path, HEAD + LIGHT + "api:\n  tls: {cert: nope.crt, key: nope.key}\n"
                 "  trusted_proxies: [not-an-address]\n")
    found = problems(path)
    assert any("api.tls.cert" in p and "no such file" in p and "nope.crt" in p for p in found)
    assert any("api.trusted_proxies" in p and "not an address" in p for p in found)
    path = write(tmp_path, HEAD + LIGHT + "api:\n  hsts: true\n")
    assert any("api.hsts" in p and "give tls too" in p for p in problems(path))
