"""`vipctl db upgrade` and `vipctl db rename-site` on a database made by the release before
migrations, and `vipctl run` refusing a database whose rows are another site's."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from controller.store.schema import head
from tests.sitefiles import HEAD, LIGHT, REPO, write

VIPCTL = Path(sys.executable).parent / "vipctl"
DUMP = Path(__file__).parent.parent / "fixtures" / "db" / "release-2ff6082.sqlite.sql"


def _vipctl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(VIPCTL), *args], capture_output=True, text=True, timeout=60,
                          check=False)


def test_upgrade_then_a_changed_id_is_refused_until_renamed(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "vipctl.db") as conn:
        conn.executescript(DUMP.read_text(encoding="utf-8"))
    site = write(tmp_path, HEAD + LIGHT)  # no site.id: the default, "site"
    url = f"sqlite:///{tmp_path / 'vipctl.db'}"

    first = _vipctl("db", "upgrade", "--config", str(site))
    assert (first.returncode, first.stdout) == (0, f"{url}: upgraded from revision 0001 to "
                                                   f"{head()}\n")
    again = _vipctl("db", "upgrade", "--config", str(site))
    assert again.stdout == f"{url}: already at revision {head()}\n"

    # The demo site (every device the shipped scene names), with an id of its own now.
    demo = (REPO / "config" / "demo.yaml").read_text(encoding="utf-8")
    named = write(tmp_path, demo.replace("  id: demo\n", "  id: binjiang_1\n"), "named.yaml")
    refused = _vipctl("run", "--config", str(named), "--api-port", "0")
    assert refused.returncode == 1
    assert refused.stderr.splitlines()[-1] == (
        f"error: the database {url}: this database holds the visits of site 'site', not of "
        "'binjiang_1': set site.id back to 'site', or give them this id with `vipctl db "
        "rename-site --config SITE_FILE --from site`")

    renamed = _vipctl("db", "rename-site", "--config", str(named), "--from", "site")
    assert renamed.returncode == 0, renamed.stderr
    assert renamed.stdout.startswith(f"{url}: site 'site' is now 'binjiang_1' (")
    assert "visits 3" in renamed.stdout
    twice = _vipctl("db", "rename-site", "--config", str(named), "--from", "site")
    assert twice.returncode == 1
    assert "site 'binjiang_1' already has visits in this database" in twice.stderr
    with sqlite3.connect(tmp_path / "vipctl.db") as conn:
        assert conn.execute("SELECT DISTINCT site_id FROM visits").fetchall() == [
            ("binjiang_1",)]
