"""A real PostgreSQL server in a temporary folder on a free loopback port, for tests.

Debian's postgresql package gives the binaries (scripts/test installs it); the server is
made with initdb and started with pg_ctl, as the `postgres` user when the tests run as
root (PostgreSQL refuses to run as root). Durability is off (fsync, full pages): a test
server is thrown away with its folder.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.broker import free_port

# Where Debian puts a version's binaries; pg_ctl on PATH is Debian's wrapper or a link.
_DEBIAN_BINS = "/usr/lib/postgresql/*/bin"
USER = "vipctl"


def binaries() -> Path | None:
    """The folder with initdb and pg_ctl, newest version first; None if not installed."""
    for folder in sorted(glob.glob(_DEBIAN_BINS), reverse=True):
        if (Path(folder) / "initdb").exists():
            return Path(folder)
    found = shutil.which("initdb")
    return Path(found).resolve().parent if found else None


class Postgres:
    """One PostgreSQL server. `url(db)` is a SQLAlchemy URL for database `db` on it."""

    def __init__(self) -> None:
        bins = binaries()
        if bins is None:
            raise FileNotFoundError("PostgreSQL is not installed (apt-get install postgresql)")
        self._bins = bins
        self.port = free_port()
        self._dir = Path(tempfile.mkdtemp(prefix="vipctl-postgres-"))
        self._data = self._dir / "data"
        self._as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self._as:
            shutil.chown(self._dir, "postgres")

    def _run(self, *args: str) -> None:
        subprocess.run([*self._as, *args], check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        self._run(str(self._bins / "initdb"), "-D", str(self._data), "-U", USER,
                  "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync")
        options = (f"-p {self.port} -k {self._dir} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c full_page_writes=off -c synchronous_commit=off")
        self._run(str(self._bins / "pg_ctl"), "-D", str(self._data), "-o", options,
                  "-l", str(self._dir / "server.log"), "-w", "start")

    def create_database(self, name: str) -> str:
        """A new empty database (dropped first if there), and its URL."""
        import psycopg  # the test extra's; imported here so that a test without it can load

        with psycopg.connect(host="127.0.0.1", port=self.port, user=USER, dbname="postgres",
                             autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def url(self, name: str) -> str:
        return f"postgresql+psycopg://{USER}@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        try:
            self._run(str(self._bins / "pg_ctl"), "-D", str(self._data), "-m", "immediate",
                      "-w", "stop")
        finally:
            shutil.rmtree(self._dir, ignore_errors=True)
