"""A PostgreSQL site's backup is PostgreSQL's own: pg_dump, in its custom format, restored
with pg_restore (https://www.postgresql.org/docs/15/app-pgdump.html).

The commands are built here from the site's SQLAlchemy URL: the URL becomes a libpq URI
without its password (the command is printed and shows in `ps`), and the password goes to
pg_dump in PGPASSWORD, in its environment only.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import URL, make_url


@dataclass(frozen=True, slots=True)
class PgCommand:
    """A pg_dump or pg_restore command: what to run, and what to add to its environment."""

    argv: list[str]
    env: dict[str, str] = field(repr=False)

    def __str__(self) -> str:
        return shlex.join(self.argv)

    @property
    def installed(self) -> bool:
        return shutil.which(self.argv[0]) is not None

    def run(self, environ: dict[str, str]) -> int:
        """Run it, its output to the terminal; its exit status."""
        return subprocess.run(self.argv, env={**environ, **self.env}, check=False).returncode


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """The libpq URI of an SQLAlchemy URL, without its password; the password's variable."""
    parsed = make_url(url)
    env = {"PGPASSWORD": parsed.password} if parsed.password else {}
    # Made anew: URL.set(password=None) means "leave the password as it is".
    uri = URL.create("postgresql", username=parsed.username, host=parsed.host,
                     port=parsed.port, database=parsed.database, query=parsed.query)
    return uri.render_as_string(hide_password=False), env


def pg_dump(url: str, target: Path) -> PgCommand:
    """pg_dump of the whole database at `url` into `target` (custom format: compressed, and
    pg_restore can pick tables or restore in parallel)."""
    uri, env = _libpq(url)
    return PgCommand(["pg_dump", "--format=custom", f"--file={target}", f"--dbname={uri}"], env)


def pg_restore(url: str, source: Path) -> PgCommand:
    """pg_restore of `source` over the database at `url`: every table it holds is dropped
    and made again (every site's, on a database that sites share)."""
    uri, env = _libpq(url)
    return PgCommand(["pg_restore", "--clean", "--if-exists", "--single-transaction",
                      f"--dbname={uri}", str(source)], env)
