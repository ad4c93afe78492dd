"""`vipctl backup` on a PostgreSQL shared by two sites runs pg_dump, says the dump holds both
sites, and never shows the URL's password; the pg_restore command it prints puts the rows
back; `vipctl restore` points to pg_restore instead of touching a shared database."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from controller.store.book import VisitBook
from controller.store.database import open_database
from controller.store.schema import head
from tests.postgres import Postgres
from tests.sitefiles import LIGHT, write
from tests.unit.booking import SITE, request

pytestmark = pytest.mark.xdist_group("postgresql")

VIPCTL = Path(sys.executable).parent / "vipctl"
PASSWORD = "s3cret-pw"  # the test server trusts every login: only its hiding is tested


def _vipctl(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(VIPCTL), *args], capture_output=True, text=True, timeout=60,
                          check=False, env=env)


def _book(url: str, site_id: str, visits: int) -> None:
    db = open_database(url, site_id)
    book = VisitBook(db, tz=SITE, teardown=timedelta(0))
    start = datetime.now(SITE) + timedelta(days=1)
    for n in range(visits):
        book.book(request(start + timedelta(hours=2 * n)), "test")
    db.close()


def test_pg_dump_of_a_shared_database(tmp_path: Path, postgres: Postgres) -> None:
    url = postgres.create_database("backup_shared")
    _book(url, "binjiang_1", 2)
    _book(url, "binjiang_2", 1)
    with_password = make_url(url).set(password=PASSWORD).render_as_string(hide_password=False)
    site = write(tmp_path, textwrap.dedent(f"""\
        site: {{id: binjiang_1, name: 滨江壹号, timezone: Asia/Shanghai}}
        mqtt: {{url: mqtt://localhost}}
        database: {{url: "{with_password}"}}
        devices:
        """) + LIGHT)
    dumps = tmp_path / "dumps"
    dumps.mkdir()
    uri = f"postgresql://vipctl@127.0.0.1:{postgres.port}/backup_shared"

    made = _vipctl("backup", str(dumps), "--config", str(site))
    assert made.returncode == 0, made.stderr
    assert PASSWORD not in made.stdout + made.stderr
    (dump,) = dumps.iterdir()
    assert dump.name.startswith("vipctl-binjiang_1-") and dump.suffix == ".dump"
    lines = made.stdout.splitlines()
    assert lines[:3] == [
        "PostgreSQL: the backup is pg_dump's, of the whole database.",
        "note: the database is shared, so the backup holds every site's rows, not only "
        f"'binjiang_1''s: schema revision {head()}, site 'binjiang_1' (2 visits), site "
        "'binjiang_2' (1 visit)",
        f"running: pg_dump --format=custom --file={dump} --dbname={uri}",
    ]
    assert lines[-1] == ("to restore it, every daemon on that database stopped: pg_restore "
                         f"--clean --if-exists --single-transaction --dbname={uri} {dump}")

    # The printed command, pointed at an empty database, brings both sites' rows back.
    restored_url = postgres.create_database("backup_restored")
    restore = lines[-1].split(": ", 1)[1].replace("/backup_shared", "/backup_restored")
    subprocess.run(restore.split(), check=True, capture_output=True, timeout=60)
    engine = create_engine(restored_url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT site_id, COUNT(*) FROM visits GROUP BY site_id "
                                 "ORDER BY site_id")).all()
    engine.dispose()
    assert [tuple(row) for row in rows] == [("binjiang_1", 2), ("binjiang_2", 1)]

    # vipctl restore does not replace a shared database: it says how.
    refused = _vipctl("restore", str(dump), "--config", str(site))
    assert refused.returncode == 1
    assert PASSWORD not in refused.stdout + refused.stderr
    assert refused.stderr.endswith(f"pg_restore --clean --if-exists --single-transaction "
                                   f"--dbname={uri} {dump}\n")

    # Without pg_dump on the machine: the command to run elsewhere, and no file.
    bare = {**os.environ, "PATH": str(VIPCTL.parent)}
    missing = _vipctl("backup", str(tmp_path / "none.dump"), "--config", str(site), env=bare)
    assert missing.returncode == 1
    assert "pg_dump is not installed here" in missing.stderr
    assert missing.stderr.endswith(f"pg_dump --format=custom --file={tmp_path / 'none.dump'} "
                                   f"--dbname={uri}\n")
    assert PASSWORD not in missing.stdout + missing.stderr
    assert not (tmp_path / "none.dump").exists()
