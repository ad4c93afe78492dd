"""Schema migrations: a database made by the release before them (tests/fixtures/db/, made
by tests/fixtures/db/make_release_db.py) is upgraded with its visits intact, on SQLite and
on PostgreSQL; the upgraded schema is exactly the one a new database gets."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, text

from controller.store import schema
from controller.store.book import VisitBook
from controller.store.database import open_database, rename_site
from controller.store.events import EventLog
from controller.store.ledger import StepLedger
from controller.store.tables import Base
from controller.store.visits import VisitStatus
from tests.postgres import Postgres

FIXTURES = Path(__file__).parent.parent / "fixtures" / "db"
RELEASE = "2ff6082"  # the last commit before migrations
TABLES = ("visits", "visit_status_history", "executed_steps", "events", "kv")
SITE = "binjiang_1"


def _release_db(dialect: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    dump = FIXTURES / f"release-{RELEASE}.{dialect}.sql"
    if dialect == "sqlite":
        path = tmp_path / "vipctl.db"
        with sqlite3.connect(path) as conn:
            conn.executescript(dump.read_text(encoding="utf-8"))
        return f"sqlite:///{path}"
    postgres: Postgres = request.getfixturevalue("postgres")
    url = postgres.create_database("release")
    # psql itself: pg_dump's output has psql's own commands (\restrict).
    subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p",
                    str(postgres.port), "-U", "vipctl", "-d", "release", "-f", str(dump)],
                   check=True, capture_output=True, timeout=60)
    return url


def _rows(url: str) -> dict[str, list[dict[str, Any]]]:
    """Every row of the site's tables, as plain values, without site_id."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            found = {}
            for table in TABLES:
                order = "key" if table == "kv" else "id"
                rows = conn.execute(text(f'SELECT * FROM {table} ORDER BY "{order}"')).mappings()
                found[table] = [{k: v for k, v in row.items() if k != "site_id"}
                                for row in rows]
            return found
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql",
                                               marks=pytest.mark.xdist_group("postgresql"))])
def dialect(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_a_release_database_is_upgraded_with_everything_in_it(
    dialect: str, tmp_path: Path, request: pytest.FixtureRequest,
) -> None:
    url = _release_db(dialect, tmp_path, request)
    before = _rows(url)
    assert [len(before[t]) for t in TABLES] == [3, 9, 4, 3, 1]

    db = open_database(url, SITE)
    try:
        with db.engine.connect() as conn:
            assert schema.current(conn) == schema.head()
            # Nothing lost, nothing changed, everything the site's.
            for table in TABLES:
                sites = conn.execute(text(f"SELECT DISTINCT site_id FROM {table}")).scalars()
                assert list(sites) == [SITE], table
            # The upgraded schema is the one a new database gets: no difference at all.
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
            assert diff == []
        assert _rows(url) == before

        tz = ZoneInfo("Asia/Shanghai")
        book = VisitBook(db, tz=tz, teardown=timedelta(minutes=5))
        visits = {v.surname: v for v in book.list()}
        assert sorted(visits) == ["O'Brien", "李", "王"]
        wang = visits["王"]
        assert (wang.full_name, wang.title, wang.party_size, wang.car_plate, wang.notes) == (
            "王建国", "董事长", 3, "沪A·12345", "喜欢绿茶\n不要打扰")
        assert wang.status is VisitStatus.DONE and len(wang.entered) == 6
        assert visits["O'Brien"].cancel_reason == "客户改期"
        assert visits["李"].duration == timedelta(minutes=90)
        assert StepLedger(db).results(wang.id)["departure:announce"] is None
        assert [(v, k) for v, k in StepLedger(db).unfinished()] == [
            (wang.id, "departure:announce")]
        assert [e.kind for e in EventLog(db).query()] == ["alert", "announcement", "trigger"]
        assert db.load_value("claims") == {
            "model_area_lights": {"visit": wang.id, "state": {"power": True}}}
        # P1 still holds against the visits that came through the upgrade.
        refused = book.next_free(visits["李"].start)
        assert refused == visits["李"].start + visits["李"].duration + timedelta(minutes=5)
    finally:
        db.close()

    again = open_database(url, SITE)  # a second start: nothing more to do
    again.close()
    assert _rows(url) == before


def test_a_new_database_is_stamped_with_the_newest_revision(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    engine = create_engine(url)
    assert schema.upgrade(engine, SITE) == schema.Upgrade(None, schema.head())
    assert schema.upgrade(engine, SITE) == schema.Upgrade(schema.head(), schema.head())
    engine.dispose()


def test_a_database_from_a_newer_vipctl_is_refused_untouched(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'v.db'}"
    open_database(url, SITE).close()
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(schema.SchemaError, match="revision 9999, which this vipctl does not "
                                                 "know"):
        open_database(url, SITE)
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT version_num FROM alembic_version")) == "9999"
    engine.dispose()


def test_a_changed_site_id_is_refused_until_the_rows_are_renamed(
    tmp_path: Path, request: pytest.FixtureRequest,
) -> None:
    url = _release_db("sqlite", tmp_path, request)
    open_database(url).close()  # upgraded by a site file without site.id: "site"
    with pytest.raises(schema.SiteMismatch, match=r"holds the visits of site 'site', not of "
                                           r"'binjiang_1'.*--from site"):
        open_database(url, SITE)
    moved = rename_site(url, "site", SITE)
    assert moved["visits"] == 3 and moved["events"] == 3 and moved["kv"] == 1
    db = open_database(url, SITE)
    try:
        assert len(VisitBook(db, tz=ZoneInfo("UTC"), teardown=timedelta(0)).list()) == 3
    finally:
        db.close()


# --- A database already at the newest revision: opened without Alembic -----------------------


def test_the_newest_revision_read_from_the_files_is_alembics() -> None:
    assert schema.head_from_files() == schema.head()


@pytest.mark.parametrize(("files", "newest"), [
    ({"a.py": 'revision = "0001"\ndown_revision = None\n',
      "b.py": 'revision: str = "0002"\ndown_revision: Union[str, None] = "0001"\n'}, "0002"),
    # A merge revises two: only Alembic may say.
    ({"a.py": 'revision = "0001"\ndown_revision = None\n',
      "b.py": 'revision = "0002"\ndown_revision = "0001"\n',
      "c.py": 'revision = "0003"\ndown_revision = "0001"\n',
      "d.py": 'revision = "0004"\ndown_revision = ("0002", "0003")\n'}, None),
    # Two heads (branches not merged yet).
    ({"a.py": 'revision = "0001"\ndown_revision = None\n',
      "b.py": 'revision = "0002"\ndown_revision = "0001"\n',
      "c.py": 'revision = "0003"\ndown_revision = "0001"\n'}, None),
    # A file whose revision is not written as a plain string.
    ({"a.py": 'revision = "0001"\ndown_revision = None\n',
      "b.py": 'revision = make_id()\ndown_revision = "0001"\n'}, None),
])
def test_the_newest_revision_from_files_or_none_when_unsure(
    tmp_path: Path, files: dict[str, str], newest: str | None,
) -> None:
    for name, source in files.items():
        (tmp_path / name).write_text(source, encoding="utf-8")
    assert schema.head_from_files(tmp_path) == newest


def test_a_database_at_the_newest_revision_opens_without_importing_alembic(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'vipctl.db'}"
    open_database(url, SITE).close()  # created and stamped, by Alembic
    opened = ("import sys\n"
              "from controller.store.database import open_database\n"
              "open_database(sys.argv[1], sys.argv[2]).close()\n"
              "print(sorted(m for m in sys.modules if m.partition('.')[0] == 'alembic'))\n")
    done = subprocess.run([sys.executable, "-c", opened, url, SITE], capture_output=True,
                          text=True, check=True, timeout=60)
    assert done.stdout.strip() == "[]", done.stderr


def test_a_database_one_revision_behind_is_still_upgraded(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'vipctl.db'}"
    open_database(url, SITE).close()
    engine = create_engine(url)
    try:
        with engine.begin() as conn:  # back to the revision before the newest, by Alembic
            command.downgrade(schema.alembic_config(conn, SITE), "-1")
            previous = schema.current(conn)
        assert previous is not None and previous != schema.head()
        assert schema.upgrade(engine, SITE) == schema.Upgrade(previous, schema.head())
        with engine.connect() as conn:
            assert schema.current(conn) == schema.head()
            assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    finally:
        engine.dispose()
