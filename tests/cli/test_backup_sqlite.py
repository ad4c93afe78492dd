"""`vipctl backup` and `vipctl restore` on an SQLite site, as an operator types them: a folder
gets a named file, an existing backup is never overwritten unasked, a restore says where
the database it replaced went, and a daemon does not start under a restore."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from click.testing import Result
from typer.testing import CliRunner

from controller.cli.main import app
from controller.store.schema import head
from controller.store.sqlite_lock import SqliteLock
from tests.sitefiles import HEAD, LIGHT, REPO, write


def _vipctl(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def test_backup_into_a_folder_then_restore_over_the_site(tmp_path: Path) -> None:
    site = write(tmp_path, HEAD + LIGHT)
    database = tmp_path / "vipctl.db"
    upgraded = _vipctl("db", "upgrade", "--config", str(site))  # an empty site's database
    assert upgraded.exit_code == 0, upgraded.stderr
    backups = tmp_path / "backups"
    backups.mkdir()

    made = _vipctl("backup", str(backups), "--config", str(site))
    assert made.exit_code == 0, made.stderr
    (backup,) = backups.iterdir()
    assert backup.name.startswith("vipctl-site-") and backup.suffix == ".db"
    assert made.stdout.startswith(f"backed up sqlite:///{database} to {backup} (")
    assert made.stdout.endswith(f" bytes): schema revision {head()}, no visits\n")

    again = _vipctl("backup", str(backup), "--config", str(site))
    assert (again.exit_code, again.stderr) == (
        1, f"error: {backup} exists: give another name, or --overwrite\n")
    forced = _vipctl("backup", str(backup), "--config", str(site), "--overwrite")
    assert forced.exit_code == 0, forced.stderr

    restored = _vipctl("restore", str(backup), "--config", str(site))
    assert restored.exit_code == 0, restored.stderr
    (aside,) = tmp_path.glob("vipctl.db.before-restore-*")
    assert restored.stdout.splitlines() == [
        f"restored {backup} into {database}: schema revision {head()}, no visits",
        f"the database it replaced is kept as {aside}",
        "start the daemon: it carries on from the backup's state (the steps done before the "
        "backup are not done again)",
    ]


def test_a_daemon_does_not_start_while_a_restore_holds_the_database(tmp_path: Path) -> None:
    # The demo site: every device the shipped scene names.
    site = write(tmp_path, (REPO / "config" / "demo.yaml").read_text(encoding="utf-8"))
    restoring = SqliteLock(tmp_path / "vipctl.db", exclusive=True)
    try:
        started = subprocess.run(
            [str(Path(sys.executable).parent / "vipctl"), "run", "--config", str(site),
             "--api-port", "0"], capture_output=True, text=True, timeout=60, check=False)
    finally:
        restoring.release()
    assert started.returncode == 1
    assert started.stderr.splitlines()[-1] == (
        f"error: the database sqlite:///{tmp_path / 'vipctl.db'}: a restore is replacing "
        f"{tmp_path / 'vipctl.db'}: start again once it is done")
    assert not (tmp_path / "vipctl.db").exists()  # nothing made behind the restore's back
