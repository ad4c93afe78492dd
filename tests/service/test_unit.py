"""`vipctl service install`: the unit it writes passes `systemd-analyze verify`, carries the
hardening the README promises, and points at the site's database as the service sees it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from controller.config.site import load_site
from controller.service.unit import STATE_DIR, plan
from tests.cli.helpers import REPO, VIPCTL, start

EXAMPLE = REPO / "config" / "example-site.yaml"
# What the unit must say, line for line (README, "Running as a service").
PROMISED = [
    "Type=notify", "NotifyAccess=main", "WatchdogSec=20s", "Restart=on-failure",
    "User=vipctl", "Group=vipctl", "SupplementaryGroups=dialout audio",
    "StateDirectory=vipctl", "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes",
    "NoNewPrivileges=yes", "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6",
    "CapabilityBoundingSet=", "SystemCallFilter=@system-service",
]


def install(*args: str) -> tuple[int, str, str]:
    proc = start("service", "install", *args)
    out, err = proc.communicate(timeout=30)
    return proc.returncode, out, err


def site_in(folder: Path, database: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    text = EXAMPLE.read_text(encoding="utf-8")
    if database is not None:
        text = text.replace("  url: sqlite:///vipctl.db\n", f"  url: {database}\n")
    path = folder / "site.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_written_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (scripts/test installs Debian's systemd)")
    # A folder name that needs quoting and a % that needs escaping in a unit file.
    config = site_in(tmp_path / "site 100%")
    units = tmp_path / "units"
    units.mkdir()
    code, out, err = install("--config", str(config), "--unit-dir", str(units), "--user", "vipctl")
    assert code == 0, err
    unit = units / "vipctl.service"
    assert out.startswith(f"wrote {unit}\n")
    assert "systemctl enable --now vipctl.service" in out
    # verify exits 0 on unknown keys and bad values, only warning: stderr must be empty.
    verify = subprocess.run([analyze, "verify", "--man=no", str(unit)], capture_output=True,
                            text=True, timeout=60, check=False)
    assert (verify.returncode, verify.stderr) == (0, ""), verify.stderr
    lines = unit.read_text(encoding="utf-8").splitlines()
    for line in PROMISED:
        assert line in lines
    assert f'ExecStart={VIPCTL} run --config "{tmp_path}/site 100%%/site.yaml"' in lines


def test_dry_run_prints_the_unit_and_writes_nothing(tmp_path: Path) -> None:
    config = site_in(tmp_path)
    units = tmp_path / "units"
    units.mkdir()
    code, out, err = install("--config", str(config), "--unit-dir", str(units), "--dry-run")
    assert code == 0, err
    assert out.startswith("# vipctl: ")
    assert "User=vipctl" in out.splitlines()
    assert list(units.iterdir()) == []
    # The default database, relative to the site file, is in the service's state folder.
    assert f"database: sqlite:///{STATE_DIR}/vipctl.db" in err
    assert "useradd --system --user-group" in err


def test_a_database_outside_the_state_folder_is_made_writable(tmp_path: Path) -> None:
    config = site_in(tmp_path / "etc", database=f"sqlite:///{tmp_path}/data/site.db")
    (tmp_path / "data").mkdir()
    code, out, err = install("--config", str(config), "--dry-run", "--user", "reception")
    assert code == 0, err
    assert f"ReadWritePaths={tmp_path}/data" in out.splitlines()
    assert "User=reception" in out.splitlines()


def test_a_bad_site_file_or_user_exits_2(tmp_path: Path) -> None:
    config = site_in(tmp_path)
    code, _, err = install("--config", str(config), "--dry-run", "--user", "Bad User")
    assert (code, err) == (2, "--user: 'Bad User' is not a valid user name\n")
    config.write_text("site: [\n", encoding="utf-8")
    code, _, err = install("--config", str(config), "--dry-run")
    assert code == 2
    assert err.startswith(f"{config}:")


def test_relative_sqlite_paths_are_in_the_state_directory_under_systemd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The site file's folder is read-only to the service (ProtectSystem=strict); the state
    folder systemd names in $STATE_DIRECTORY is the one it may write, made as it starts."""
    config = site_in(tmp_path / "etc", database="sqlite:///db/site.db")
    (tmp_path / "etc" / "db").mkdir()
    monkeypatch.setenv("VIPCTL_MQTT_PASSWORD", "secret")  # the example's broker login
    assert load_site(config).database.url == f"sqlite:///{tmp_path}/etc/db/site.db"
    state = tmp_path / "state"
    monkeypatch.setenv("STATE_DIRECTORY", f"{state}:{tmp_path}/other")
    (state / "db").mkdir(parents=True)
    assert load_site(config).database.url == f"sqlite:///{state}/db/site.db"
    default = site_in(tmp_path / "etc2")
    assert load_site(default).database.url == f"sqlite:///{state}/vipctl.db"
    # Absolute paths are the site file's to choose.
    absolute = site_in(tmp_path / "etc3", database=f"sqlite:///{tmp_path}/etc/db/x.db")
    assert load_site(absolute).database.url == f"sqlite:///{tmp_path}/etc/db/x.db"


def test_a_vipctl_or_site_file_in_a_home_folder_is_warned_of() -> None:
    """ProtectHome=yes hides /home and /root: the service could not start from there."""
    unit = plan(config=Path("/home/it/site.yaml"), executable=Path("/root/v/bin/vipctl"),
                database_url=f"sqlite:///{STATE_DIR}/vipctl.db")
    assert [note.split(",")[0] for note in unit.notes] == [
        "/root/v/bin/vipctl is under /root", "/home/it/site.yaml is under /home"]
    assert not [line for line in unit.text.splitlines() if line.startswith("ReadWritePaths")]
