"""The campaign's site and its bookings.

config/demo.yaml's devices (bench.sitegen.demo), with two of them on serial ports as a real
site has them (controller/demo/serial.py): the VIP room's air conditioner behind a
CoolMasterNet gateway and sand-table lights on a DMX widget, both on pseudo-terminals; the
sand table joins "all lights", so a vanished port takes held lights with it. The daemon
reaches the broker through the blackhole proxy, with a keepalive as short as the campaign's
compressed clock.

The visits are booked before the daemon first starts, one after another at a fixed
spacing, through vipctl's own VisitBook (P1 checked for each).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from bench import sitegen
from controller.config.site import load_site
from controller.daemon import teardown_of
from controller.store.book import VisitBook
from controller.store.database import open_database
from controller.store.requests import VisitRequest
from scenes.loader import load_scene

CLIENT_ID = "vipctl-chaos"
STATUS_TOPIC = f"vipctl/{CLIENT_ID}/status"  # the daemon's retained online/offline
# Seconds: the broker drops a silent daemon after 1.5 of them, and the daemon gives up on a
# link that answers no ping within about two. At a speed factor of hundreds a site's 30 s
# would be hours of visit time.
KEEPALIVE_S = 1
AC, AC_UNIT, SAND_TABLE = "vip_room_ac", "L1.100", "sand_table_lights"
SAND_TABLE_CHANNELS = [1, 2, 3, 4]
# Guests, by turns: every announcement names one (P4).
GUESTS = [("王", "先生"), ("李", "女士"), ("张", "总"), ("陈", "先生"), ("刘", "女士")]


@dataclass(frozen=True)
class Booked:
    id: str
    start: datetime
    end: datetime
    salutation: str


def write_site(work: Path, *, broker_url: str) -> Path:
    devices, groups = sitegen.demo()
    devices[AC] = {"kind": "climate", "name": "VIP室空调",
                   "serial": {"convention": "coolmaster", "port": "ac_gateway",
                              "unit": AC_UNIT}}
    devices[SAND_TABLE] = {"kind": "light", "name": "沙盘灯光",
                           "serial": {"convention": "dmx", "port": "dmx_widget",
                                      "channels": SAND_TABLE_CHANNELS}}
    groups["all_lights"] = [*groups["all_lights"], SAND_TABLE]
    site: dict[str, Any] = {
        "site": {"name": "混沌测试案场", "timezone": "Asia/Shanghai"},
        "mqtt": {"url": broker_url, "client_id": CLIENT_ID, "keepalive": KEEPALIVE_S},
        "database": {"url": f"sqlite:///{work / 'vipctl.db'}"},
        "commands": sitegen.COMMANDS,
        # The AC gateway is polled often enough that a lost reply shows within the visit.
        "serial_ports": {"ac_gateway": {"url": str(work / "ac_gateway"), "poll_interval": 1.0},
                         "dmx_widget": {"url": str(work / "dmx_widget")}},
        "devices": devices,
        "groups": groups,
    }
    path = work / "site.yaml"
    path.write_text(yaml.safe_dump(site, allow_unicode=True, sort_keys=False))
    return path


def book_visits(site_path: Path, *, count: int, first: datetime, spacing: timedelta,
                duration: timedelta, speed: float) -> list[Booked]:
    site = load_site(site_path)
    db = open_database(site.database.url, site.site.id)
    book = VisitBook(db, tz=site.site.tz, teardown=teardown_of(load_scene()) / speed)
    booked = []
    try:
        for i in range(count):
            surname, honorific = GUESTS[i % len(GUESTS)]
            visit = book.book(VisitRequest.model_validate({
                "surname": surname, "honorific": honorific, "start": first + i * spacing,
                "duration": duration}), "chaos")
            booked.append(Booked(visit.id, visit.start, visit.end, visit.salutation))
    finally:
        db.close()
    return booked
