"""Backup and restore of an SQLite site database (controller/store/backup.py), on real files:
a backup taken while another thread writes is whole; a restore refuses what is not this
site's vipctl database and a database a daemon holds, and changes nothing when it refuses."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from controller.store import schema
from controller.store.backup import BackupError, backup_sqlite, restore_sqlite
from controller.store.book import VisitBook
from controller.store.database import open_database
from controller.store.sqlite_lock import DatabaseBusy, SqliteLock
from tests.unit.booking import SITE, request

DUMP = Path(__file__).parent.parent / "fixtures" / "db" / "release-2ff6082.sqlite.sql"
NOW = datetime(2026, 12, 5, 13, 30, tzinfo=UTC)


def _site_db(folder: Path, site_id: str, visits: int = 1) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{folder / 'vipctl.db'}"
    db = open_database(url, site_id)
    book = VisitBook(db, tz=SITE, teardown=timedelta(0))
    start = datetime.now(SITE) + timedelta(days=1)
    for n in range(visits):
        book.book(request(start + timedelta(hours=2 * n)), "test")
    db.close()
    return url


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _integrity(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])


def test_a_backup_taken_while_the_database_is_written_is_whole(tmp_path: Path) -> None:
    url = _site_db(tmp_path / "site", "demo")
    db = open_database(url, "demo")
    stop = threading.Event()
    written: list[int] = []

    def write() -> None:  # the daemon's kind of traffic: short durable transactions
        n = 0
        while not stop.is_set():
            n += 1
            db.save_value("counter", {"n": n, "pad": "x" * 2000})
            written.append(n)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        for i in range(5):
            target = tmp_path / f"backup-{i}.db"
            contents = backup_sqlite(url, target)
            assert contents.visits == {"demo": 1}
            assert _integrity(target) == "ok"
            with sqlite3.connect(target) as conn:
                (mode,) = conn.execute("PRAGMA journal_mode").fetchone()
                saved = conn.execute("SELECT value FROM kv WHERE key = 'counter'").fetchone()
            assert mode == "delete"  # one self-contained file
            assert not target.with_name(target.name + "-wal").exists()
            if saved is not None:  # a row written whole, or not at all
                assert len(json.loads(saved[0])["pad"]) == 2000
    finally:
        stop.set()
        writer.join()
        db.close()
    assert len(written) > 5  # the writer did run alongside


def test_restore_keeps_the_replaced_database_and_upgrades_an_older_backup(
        tmp_path: Path) -> None:
    old = tmp_path / "release.db"  # a database of the release before migrations: 0001
    with sqlite3.connect(old) as conn:
        conn.executescript(DUMP.read_text(encoding="utf-8"))
    url = _site_db(tmp_path / "site", "site", visits=1)
    database = tmp_path / "site" / "vipctl.db"

    done = restore_sqlite(url, "site", old, now=NOW)
    assert (done.upgrade.before, done.upgrade.after) == ("0001", schema.head())
    assert done.contents.legacy
    # Nothing left over: no copy in progress, no log of the replaced database.
    assert sorted(p.name for p in database.parent.iterdir()) == [
        "vipctl.db", "vipctl.db.before-restore-20261205T133000Z", "vipctl.db.lock"]
    assert done.aside == tmp_path / "site" / "vipctl.db.before-restore-20261205T133000Z"
    assert _integrity(done.aside) == "ok"
    with sqlite3.connect(done.aside) as conn:
        assert conn.execute("SELECT COUNT(*) FROM visits").fetchone() == (1,)
    with sqlite3.connect(database) as conn:
        assert conn.execute("SELECT DISTINCT site_id FROM visits").fetchall() == [("site",)]
        assert conn.execute("SELECT COUNT(*) FROM visits").fetchone() == (3,)


def _refused(url: str, site_id: str, source: Path) -> str:
    database = Path(url.removeprefix("sqlite:///"))
    before = _digest(database)
    with pytest.raises(BackupError) as caught:
        restore_sqlite(url, site_id, source, now=NOW)
    assert _digest(database) == before
    assert sorted(p.name for p in database.parent.iterdir()) == ["vipctl.db", "vipctl.db.lock"]
    return str(caught.value)


def test_another_sites_backup_is_refused(tmp_path: Path) -> None:
    other = _site_db(tmp_path / "other", "binjiang_2", visits=2)
    backup_sqlite(other, tmp_path / "other.db")
    url = _site_db(tmp_path / "site", "binjiang_1")
    assert _refused(url, "binjiang_1", tmp_path / "other.db") == (
        f"{tmp_path / 'other.db'} is a backup of schema revision {schema.head()}, site "
        "'binjiang_2' (2 visits), not of site 'binjiang_1': restore it with that site's "
        "file, or restore it and then rename its site with `vipctl db rename-site`")


def test_what_is_not_a_vipctl_database_is_refused(tmp_path: Path) -> None:
    url = _site_db(tmp_path / "site", "demo")
    text = tmp_path / "notes.txt"
    text.write_text("a shopping list\n" * 200)
    assert "is not an SQLite database" in _refused(url, "demo", text)
    other = tmp_path / "other-app.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE visits (id TEXT)")
    assert _refused(url, "demo", other) == (
        f"{other}: not a vipctl database (no visits and schedule_lock tables)")
    damaged = tmp_path / "damaged.db"
    backup_sqlite(_site_db(tmp_path / "source", "demo", visits=40), damaged)
    with damaged.open("r+b") as file:  # a page in the middle overwritten: a bad disk
        file.seek(damaged.stat().st_size // 2)
        file.write(b"\xff" * 4096)
    assert "is damaged (SQLite's integrity check: " in _refused(url, "demo", damaged)
    with pytest.raises(BackupError, match="there is no file"):
        restore_sqlite(url, "demo", tmp_path / "missing.db")


def test_restore_and_daemon_exclude_each_other(tmp_path: Path) -> None:
    url = _site_db(tmp_path / "site", "demo")
    database = tmp_path / "site" / "vipctl.db"
    backup_sqlite(url, tmp_path / "backup.db")
    daemon = SqliteLock.for_daemon(url)  # what a running daemon holds
    assert daemon is not None
    before = _digest(database)
    with pytest.raises(DatabaseBusy, match="a vipctl daemon is running on"):
        restore_sqlite(url, "demo", tmp_path / "backup.db")
    assert _digest(database) == before
    daemon.release()

    restoring = SqliteLock(database, exclusive=True)
    with pytest.raises(DatabaseBusy, match="a restore is replacing"):
        SqliteLock.for_daemon(url)
    restoring.release()
    restore_sqlite(url, "demo", tmp_path / "backup.db")
