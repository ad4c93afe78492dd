"""The site file's `auth:` section: secrets from the environment, hashes only, and every
mistake reported with its line, never with the secret in it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from common.yamlconf import ConfigError
from controller.auth.credentials import Authenticator, hash_password
from controller.auth.settings import AuthSettings, Role
from controller.config.site import load_site
from tests.broker import Mosquitto
from tests.scenario.rig import site_file

HASH = hash_password("lobby-2026!")


def with_auth(tmp_path: Path, mosquitto: Mosquitto, text: str) -> Path:
    path = site_file(tmp_path, mosquitto, "p")
    path.write_text(path.read_text() + text, encoding="utf-8")
    return path


def line_of(path: Path, needle: str) -> int:
    return next(i for i, row in enumerate(path.read_text().splitlines(), 1) if needle in row)


def test_users_and_tokens_from_the_file_and_the_environment(
        tmp_path: Path, mosquitto: Mosquitto, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONCIERGE_HASH", HASH)
    monkeypatch.setenv("SCREEN_TOKEN", "s" * 32)
    path = with_auth(tmp_path, mosquitto, f"""
auth:
  users:
    concierge: {{role: concierge, password_hash_env: CONCIERGE_HASH}}
    manager: {{role: admin, password_hash: "{HASH}"}}
  tokens:
    - {{name: lobby_screen, role: viewer, token_env: SCREEN_TOKEN}}
  session_hours: 8
""")
    auth = Authenticator.from_settings(load_site(path).auth, environ={})
    assert auth.check_password("concierge", "lobby-2026!") is Role.CONCIERGE
    assert auth.check_password("manager", "lobby-2026!") is Role.ADMIN
    assert auth.check_password("manager", "wrong") is None
    screen = auth.check_token("s" * 32)
    assert screen is not None and screen.role is Role.VIEWER
    assert auth.session_seconds == 8 * 3600


@pytest.mark.parametrize(("entry", "needle", "message"), [
    ("users: {concierge: {role: concierge, password_hash: hunter2hunter2}}", "hunter2",
     "auth.users.concierge.password_hash: not an argon2 hash; make one with "
     "`vipctl hash-password`"),
    ("users: {concierge: {role: boss, password_hash: '" + HASH + "'}}", "boss",
     "auth.users.concierge.role: Input should be 'viewer', 'concierge' or 'admin'"),
    ("tokens: [{name: cli, role: admin, token: short}]", "token: short",
     "auth.tokens[0].token: a token needs at least 16 characters"),
    ("tokens: [{name: cli, role: admin, token_env: NOT_SET_ANYWHERE_42}]", "NOT_SET",
     "auth.tokens[0].token_env: environment variable NOT_SET_ANYWHERE_42 is not set"),
    ("tokens: [{name: Cli!, role: admin, token_sha256: " + "a" * 64 + "}]", "Cli!",
     "auth.tokens[0].name: String should match pattern"),
    ("users: {concierge: {role: concierge}}", "role: concierge}",
     "auth.users.concierge: give password_hash or password_hash_env"),
])
def test_mistakes_name_the_line_and_never_the_secret(
        tmp_path: Path, mosquitto: Mosquitto, entry: str, needle: str, message: str) -> None:
    path = with_auth(tmp_path, mosquitto, f"\nauth:\n  {entry}\n")
    with pytest.raises(ConfigError) as caught:
        load_site(path)
    problem = str(caught.value)
    assert problem.startswith(f"{path}:{line_of(path, needle)}: {message}"), problem
    told = problem.split(": ", 1)[1]
    assert "hunter2" not in told and "short" not in told


def test_the_readme_example_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    block = next(b for b in readme.split("```yaml\n")[1:] if b.startswith("auth:"))
    monkeypatch.setenv("VIPCTL_FRONT_DESK_HASH", HASH)
    settings = AuthSettings.model_validate(yaml.safe_load(block.split("```")[0])["auth"])
    auth = Authenticator.from_settings(settings, environ={})
    assert auth.check_password("front_desk", "lobby-2026!") is Role.CONCIERGE
    assert auth.token_names == ["lobby_screen"]
    assert settings.users["manager"].role is Role.ADMIN
