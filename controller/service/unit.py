"""The systemd unit vipctl ships (vipctl.service beside this module) and what installing it
takes: `vipctl service install` renders it for a site file and says the commands to run.

Nothing here needs root: rendering and printing work anywhere (`--dry-run`); only writing
into /etc/systemd/system does, and that is the caller's to try.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from string import Template

from sqlalchemy.engine import make_url

UNIT_NAME = "vipctl.service"
DEFAULT_USER = "vipctl"
DEFAULT_UNIT_DIR = Path("/etc/systemd/system")
# StateDirectory=vipctl in the unit: systemd makes it, owned by the service's user.
STATE_DIR = Path("/var/lib/vipctl")
# How long a stuck event loop lives before systemd restarts it. A healthy loop never stalls
# for more than a few milliseconds (a cue's commit); the start-up's blocking schema upgrade
# comes before the first ping is due.
WATCHDOG_S = 20
# Folders ProtectHome= hides from the service: a vipctl installed there cannot start.
HIDDEN_HOMES = (Path("/home"), Path("/root"), Path("/run/user"))
# systemd's unit-file specifiers start with %; a literal one is doubled.
_SPECIFIER = re.compile("%")
USER_NAME = re.compile(r"^[a-z_][a-z0-9_-]*$")


@dataclass(frozen=True, slots=True)
class Installation:
    """A unit for one site, and where it goes."""

    text: str
    path: Path
    user: str
    config: Path
    database: str
    notes: tuple[str, ...]

    def commands(self) -> list[str]:
        """What an administrator runs, as root, after the unit is written."""
        return [
            f"useradd --system --user-group --home-dir {STATE_DIR} --no-create-home "
            f"--shell /usr/sbin/nologin {self.user}",
            f"chgrp {self.user} {self.config} && chmod 640 {self.config}",
            "systemctl daemon-reload",
            f"systemctl enable --now {UNIT_NAME}",
            f"systemctl status {UNIT_NAME}; journalctl -u {UNIT_NAME} -f",
        ]


def _quoted(arg: str) -> str:
    """One ExecStart= argument (systemd.service(5), "Command lines")."""
    arg = _SPECIFIER.sub("%%", arg)
    if re.search(r'[\s"\'\\;$]', arg):
        return '"' + arg.replace("\\", "\\\\").replace('"', '\\"').replace("$", "$$") + '"'
    return arg


def template() -> str:
    return files("controller.service").joinpath(UNIT_NAME).read_text(encoding="utf-8")


def plan(*, config: Path, database_url: str, executable: Path, user: str = DEFAULT_USER,
         unit_dir: Path = DEFAULT_UNIT_DIR) -> Installation:
    """The unit for the site file `config` (absolute), whose database is `database_url`
    as the service sees it (relative SQLite paths in STATE_DIR), run by `executable` (the
    vipctl console script)."""
    if not USER_NAME.match(user):
        raise ValueError(f"--user: {user!r} is not a valid user name")
    notes = []
    for path, remedy in ((executable, "install vipctl elsewhere (python3 -m venv /opt/vipctl)"),
                         (config, "put the site file in /etc/vipctl")):
        home = next((h for h in HIDDEN_HOMES if path.is_relative_to(h)), None)
        if home is not None:
            notes.append(f"{path} is under {home}, which ProtectHome= hides from the "
                         f"service: {remedy}")
    url = make_url(database_url)
    writable = ""
    if url.get_backend_name() == "sqlite" and url.database and Path(url.database).is_absolute():
        folder = Path(url.database).parent
        if not folder.is_relative_to(STATE_DIR):
            # ProtectSystem=strict leaves only the state folder writable; SQLite writes
            # its -wal and -shm files beside the database, so the whole folder.
            writable = f"ReadWritePaths={_quoted(str(folder))}\n"
    exec_start = " ".join(_quoted(a) for a in (str(executable), "run", "--config", str(config)))
    text = Template(template()).substitute(
        config=_SPECIFIER.sub("%%", str(config)), exec_start=exec_start, user=user,
        watchdog=f"{WATCHDOG_S}s", read_write_paths=writable)
    return Installation(text=text, path=unit_dir / UNIT_NAME, user=user, config=config,
                        database=url.render_as_string(hide_password=True), notes=tuple(notes))
