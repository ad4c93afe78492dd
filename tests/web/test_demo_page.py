"""`vipctl demo --manual`: the demo prints the page's address and a login for the run, and a
visitor drives the whole visit through the page's API (as the page does, with its session);
the demo ends with the restore."""

from __future__ import annotations

import contextlib
import re
import socket
import time

import httpx

from tests.broker import Mosquitto
from tests.cli.helpers import group_gone, kill_group, start

PAGE_LINE = re.compile(r"the concierge page: (http://127\.0\.0\.1:\d+/) \(sign in as (\w+), "
                       r"password ([a-z0-9]{4}-[a-z0-9]{4}); this run only\)")
ARRIVAL = "王先生已到访,请各岗位做好接待工作"


def test_the_demo_opens_the_page_and_the_visitor_drives(mosquitto: Mosquitto,
                                                        topic_prefix: str) -> None:
    # 8765 taken (by us here, or by anything else on this machine): the demo's API and page
    # go to another port, and say which.
    taken = socket.socket()
    with contextlib.suppress(OSError):
        taken.bind(("127.0.0.1", 8765))
        taken.listen()
    proc = start("demo", "--manual", "--mqtt", mosquitto.url, "--prefix", topic_prefix,
                 "--speed", "120", "--lead", "3")
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 30
        found = None
        while found is None:
            line = proc.stdout.readline()
            assert line and time.monotonic() < deadline, "no page address printed"
            found = PAGE_LINE.search(line)
        url, user, password = found.groups()
        assert not url.endswith(":8765/")
        while "your turn" not in proc.stdout.readline():
            assert time.monotonic() < deadline and proc.poll() is None

        with httpx.Client(base_url=url, timeout=30) as page:
            assert "<script src=\"/static/app.js\"" in page.get("/").text
            signed = page.post("/auth/login", json={"user": user, "password": password})
            assert signed.status_code == 200, signed.text
            assert page.post("/auth/login", json={"user": user, "password": "nope"}
                             ).status_code == 401
            for name in ("arrival", "show-flat", "departure"):
                buttons = {b["trigger"]: b for b in page.get("/triggers").json()}
                assert buttons[name]["available"] is True, buttons[name]
                pressed = page.post(f"/triggers/{name}").json()
                assert pressed["accepted"] is True and pressed["message"].endswith("王先生")
        out, err = proc.communicate(timeout=30)
    finally:
        kill_group(proc)
        taken.close()
    assert proc.returncode == 0, out + err
    assert f"arrival for 王先生, from app:{user}" in out  # the page's press, by its user
    assert ARRIVAL in out
    assert "failures: none" in out
    assert group_gone(proc)
