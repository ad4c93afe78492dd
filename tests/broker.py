"""A real Mosquitto broker on a free loopback port, for tests and benchmarks."""

from __future__ import annotations

import getpass
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import IO

from tests.waiting import eventually_sync

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


MOSQUITTO_PASSWD = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"


def make_password_file(path: Path, users: Mapping[str, str]) -> Path:
    """A Mosquitto password file with these users and passwords, made by mosquitto_passwd
    (hashed, as on a site)."""
    path.write_text("")
    for user, password in users.items():
        subprocess.run([MOSQUITTO_PASSWD, "-b", str(path), user, password], check=True,
                       capture_output=True)
    return path


class Mosquitto:
    """One mosquitto process; restartable on the same port (for broker-restart tests).

    With `password_file` anonymous clients are refused and every client logs in; with
    `acl_file` each may use only its topics (docs/mosquitto/). `security`: configuration
    lines of a site's own instead (docs/mosquitto/site.conf without its listener), put
    before the test's listener on a free loopback port. `persistence`: sessions and their
    queued messages survive a restart (saved in the broker's folder when it stops).
    `extra`: more configuration after the listener (a bridge's `connection` section)."""

    def __init__(self, port: int | None = None, *, password_file: Path | None = None,
                 acl_file: Path | None = None, security: str = "", persistence: bool = False,
                 extra: str = "") -> None:
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self._dir = Path(tempfile.mkdtemp(prefix="vipctl-mosquitto-"))
        self._conf = self._dir / "mosquitto.conf"
        if password_file is not None:
            security += f"\nallow_anonymous false\npassword_file {password_file}"
        if acl_file is not None:
            security += f"\nacl_file {acl_file}"
        user = ""
        if "password_file" in security or "acl_file" in security or persistence:
            # Started as root, mosquitto reads these files (and writes its persistence
            # file) after dropping to its own user, which cannot enter the test's folders:
            # it stays the user that started it.
            user = f"user {getpass.getuser()}\n"
        self.extra = extra  # may be set until start(): a bridge needs the broker's port first
        self._base = (
            f"{security.strip() or 'allow_anonymous true'}\n{user}"
            f"listener {self.port} 127.0.0.1\n"
            + (f"persistence true\npersistence_location {self._dir}/\n" if persistence
               else "persistence false\n")
            + "log_dest stderr\n"
            "log_type error\n"
            "log_type warning\n"
        )
        self._conf.write_text(self._base + self.extra)  # read (and added to) by bench/
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    def start(self) -> None:
        if self.extra and not self._conf.read_text().endswith(self.extra):
            self._conf.write_text(self._base + self.extra)
        self._log = open(self._dir / "mosquitto.log", "ab")  # noqa: SIM115 - closed by stop()
        self._proc = subprocess.Popen(
            [MOSQUITTO, "-c", str(self._conf)], stdout=subprocess.DEVNULL, stderr=self._log)
        eventually_sync(self._listening, what=f"mosquitto to listen on port {self.port}")

    def _listening(self) -> bool:
        assert self._proc is not None
        if self._proc.poll() is not None:
            log = (self._dir / "mosquitto.log").read_text(errors="replace")
            raise RuntimeError(f"mosquitto exited with {self._proc.returncode}: {log}")
        try:
            with socket.create_connection((self.host, self.port), timeout=0.2):
                return True
        except OSError:
            return False

    def stop(self) -> None:
        if self._proc is None:
            return
        self._proc.terminate()
        try:
            self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._proc = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def restart(self) -> None:
        self.stop()
        self.start()
