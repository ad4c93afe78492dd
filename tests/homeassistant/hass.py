"""A real, headless Home Assistant 2024.3 for tests: its own process from .ha-venv, on a free
loopback port, its MQTT integration set up the way a person does it, through the REST API:
onboarding (the owner's account, whose token the test uses), then the MQTT config flow
pointed at the test's broker.

Only what the tests need is loaded (http, api, config, onboarding, frontend for the device
page, and what they depend on), and Home Assistant installs nothing at run time
(--skip-pip: scripts/ha-venv installed their requirements).
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.broker import Mosquitto, free_port

USER, PASSWORD = "owner", "owner-password"
ONBOARDING_STORAGE_VERSION = 4  # components/onboarding/__init__.py, 2024.3
START_S = 90.0  # a loaded CI machine: Home Assistant itself starts in 2-3 s here
CONFIGURATION = """\
homeassistant:
  name: vipctl test
  latitude: 31.23
  longitude: 121.47
  elevation: 4
  unit_system: metric
  time_zone: Asia/Shanghai
  country: CN
  currency: CNY
http:
  server_host: 127.0.0.1
  server_port: {port}
api:
config:
onboarding:
frontend:
logger:
  default: warning
  logs:
    homeassistant.components.mqtt: info
"""


@dataclass
class Hass:
    url: str
    token: str
    log: Path

    def _client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30,
                            headers={"Authorization": f"Bearer {self.token}"})

    def state(self, entity_id: str) -> dict[str, Any] | None:
        """The entity's state object, or None while Home Assistant does not have it."""
        with self._client() as client:
            response = client.get(f"/api/states/{entity_id}")
        if response.status_code == 404:
            return None
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def call(self, domain: str, service: str, **data: Any) -> None:
        with self._client() as client:
            client.post(f"/api/services/{domain}/{service}", json=data).raise_for_status()

    def template(self, text: str) -> str:
        with self._client() as client:
            response = client.post("/api/template", json={"template": text})
        response.raise_for_status()
        return response.text


def _onboard(url: str) -> dict[str, Any]:
    """The owner's account (Home Assistant's first user), and its tokens."""
    client_id = f"{url}/"
    with httpx.Client(base_url=url, timeout=30) as client:
        made = client.post("/api/onboarding/users", json={
            "client_id": client_id, "name": "Owner", "username": USER, "password": PASSWORD,
            "language": "en"})
        made.raise_for_status()
        tokens = client.post("/auth/token", data={
            "grant_type": "authorization_code", "code": made.json()["auth_code"],
            "client_id": client_id})
        tokens.raise_for_status()
        result: dict[str, Any] = tokens.json()
        return result


def _add_mqtt(url: str, token: str, broker: Mosquitto) -> None:
    """Settings → Devices & services → Add → MQTT, as its REST calls."""
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, timeout=30, headers=headers) as client:
        flow = client.post("/api/config/config_entries/flow", json={"handler": "mqtt"})
        flow.raise_for_status()
        done = client.post(f"/api/config/config_entries/flow/{flow.json()['flow_id']}",
                           json={"broker": broker.host, "port": broker.port})
        done.raise_for_status()
        assert done.json()["type"] == "create_entry", done.json()


def _wait_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"Home Assistant exited:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/api/onboarding", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"Home Assistant not up in {START_S} s:\n{log.read_text()[-3000:]}")


@contextmanager
def home_assistant(ha_python: Path, config_dir: Path, broker: Mosquitto
                   ) -> Iterator[tuple[Hass, dict[str, Any]]]:
    """A running Home Assistant with MQTT on `broker`; and the owner's tokens."""
    port = free_port()
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "configuration.yaml").write_text(CONFIGURATION.format(port=port))
    # Onboarding's other steps, done: the frontend would show them instead of any page, and
    # the REST call for the location step sets up integrations that fetch from the internet
    # (the weather) and need packages not installed. The owner's account stays to be made.
    storage = config_dir / ".storage"
    storage.mkdir(exist_ok=True)
    (storage / "onboarding").write_text(json.dumps({
        "version": ONBOARDING_STORAGE_VERSION, "key": "onboarding",
        "data": {"done": ["core_config", "analytics", "integration"]}}))
    log = config_dir / "hass.log"
    url = f"http://127.0.0.1:{port}"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [ha_python, "-m", "homeassistant", "--config", str(config_dir), "--skip-pip",
             "--log-no-color"], stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_up(url, process, log)
        tokens = _onboard(url)
        _add_mqtt(url, tokens["access_token"], broker)
        yield Hass(url, tokens["access_token"], log), tokens
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
