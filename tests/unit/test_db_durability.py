"""The SQLite settings every connection gets: WAL, and commits synced at checkpoints."""

from __future__ import annotations

from pathlib import Path

from controller.store.database import open_database

# PRAGMA synchronous reads back as a number: 1 is NORMAL, 2 is FULL.
NORMAL = 1


def test_every_connection_is_wal_with_normal_sync(tmp_path: Path) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'v.db'}")
    try:
        with db.engine.connect() as a, db.engine.connect() as b:
            for conn in (a, b):
                assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
                assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == NORMAL
    finally:
        db.close()
