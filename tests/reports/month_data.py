"""A month of visits made up with a fixed seed, written as real rows through the store's API
(VisitBook, StepLedger, EventLog with their clocks set to the moment), as the engine would
have written them: late cues, stale skips, devices that fail, announcements that fail or
expire, no-shows, cancellations, walk-ins (some booked later), preflight problems.

It knows nothing of controller/reports: the tests compute the expected figures from the
rows themselves."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from controller.store.book import VisitBook
from controller.store.database import Database
from controller.store.events import EventLog
from controller.store.ledger import StepLedger
from controller.store.requests import VisitRequest
from controller.store.visits import VisitStatus

S = VisitStatus
SEED = 20261201
# The shipped scene's preparation, as (step, minutes from the start, description, devices).
PREPARATION = [
    ("p10-air-conditioning", -45, "P10 空调提前45分钟开启", ["vip_room_ac", "lobby_thermostat"]),
    ("p5-car-shade", -30, "P5 车辆遮阳", []),
    ("p6-refreshments", -30, "P6 毛巾、茶点、果盘", []),
    ("p7-fountain", -10, "P7 管理层及物业经理到喷泉处等候", []),
    ("p2-p9-lights", -5, "P2 模型区灯光常亮, P9 全部灯光开启(射灯除外)",
     ["model_area_lights", "hall_lights"]),
    ("p11-promo-video", -5, "P11 VIP室循环播放宣传片", ["vip_room_video"]),
    ("hold:p2-model-area-lights-held", -5, "", ["model_area_lights"]),
]
REMINDERS = {"p5-car-shade": "请保安准备停车场遮阳,迎接{g}的车辆",
             "p6-refreshments": "请准备好毛巾、茶点和果盘,{g}三十分钟后到访",
             "p7-fountain": "请管理层及物业经理到入口喷泉处等候{g}"}
# Stale-skippable: the reminders are worth nothing once the visit has begun.
SKIPPABLE = set(REMINDERS)
PRESSED = [("arrival", "f1-arrival", 2, "{g}已到访,请各岗位做好接待工作"),
           ("show_flat", "f7-show-flat", 20, "{g}即将参观样板房,请样板房管家做好准备"),
           ("departure", "f13-departure", 55, "{g}即将离开,请销售人员在门口列队送别")]
PRESSERS = ["button:concierge_button", "app:concierge", "app:guard", "app:admin"]
GUESTS = [("王", "先生"), ("李", "女士"), ("张", "总"), ("刘", "董事长"), ("陈", "先生")]
# Devices that fail more often than others, so that the ranking has an order.
FLAKY = {"hall_lights": 0.25, "vip_room_video": 0.15}
PREFLIGHT_DEVICES = ["model_area_lights", "hall_lights", "vip_room_ac", "vip_room_video",
                     "staff_intercom", "lobby_thermostat"]
PROBLEMS = {"offline": "设备离线", "unreadable": "状态无法读取", "no_answer": "设备无应答"}
# A walk-in whose surname is markup: the report must show it as text.
MARKUP_SURNAME = "<b>赵"


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Made:
    """What was generated, for the test's own bookkeeping (not its expected figures)."""

    visit_ids: list[str] = field(default_factory=list)
    walk_ins: int = 0


class MonthWriter:
    def __init__(self, db: Database, tz: ZoneInfo, *, seed: int = SEED) -> None:
        self.rng = random.Random(seed)
        self.clock = Clock(datetime.now(tz))
        self.tz = tz
        self.book = VisitBook(db, tz=tz, teardown=timedelta(minutes=5), clock=self.clock)
        self.ledger = StepLedger(db, clock=self.clock)
        self.events = EventLog(db, clock=self.clock)
        self.made = Made()
        self._walk_in_ids = 0

    def at(self, when: datetime) -> None:
        self.clock.now = when

    def event(self, kind: str, when: datetime, **fields: object) -> None:
        self.at(when)
        self.events.append(kind, **fields)  # type: ignore[arg-type]

    # --- one visit ---------------------------------------------------------------------------

    def visit(self, start: datetime) -> None:
        surname, honorific = self.rng.choice(GUESTS)
        self.at(start - timedelta(days=2))
        request = VisitRequest.model_validate(
            {"surname": surname, "honorific": honorific, "start": start, "duration": 60},
            context={"tz": self.tz})
        visit = self.book.book(request, source="test")
        self.made.visit_ids.append(visit.id)
        outcome = self.rng.choices(["done", "no_show", "cancelled"], [7, 1.5, 1.5])[0]
        if outcome == "cancelled":
            self.at(start - timedelta(days=1))
            self.book.cancel(visit.id, "客户改期")
            return
        guest = surname + honorific
        self._preflight(visit.id, start - timedelta(minutes=50))
        for number, (key, minutes, description, devices) in enumerate(PREPARATION):
            self._prepare(visit.id, key, start + timedelta(minutes=minutes), description,
                          devices, guest, first=number == 0)
        if outcome == "no_show":
            self.at(start + timedelta(hours=1))
            self.ledger.claim(visit.id, "no-show")
            self.ledger.mark(visit.id, "no-show", "ok")
            self.book.set_status(visit.id, S.NO_SHOW)
            self.event("visit", start + timedelta(hours=1), visit_id=visit.id,
                       detail={"action": "no-show"}, result="ok")
            return
        for trigger, key, minutes, text in PRESSED:
            self._press(visit.id, trigger, key, start + timedelta(
                minutes=minutes + self.rng.uniform(-3, 4)), text.format(g=guest))
        if self.rng.random() < 0.4:
            self.walk_in(start + timedelta(minutes=30), visit.id)
        end = start + timedelta(minutes=61)
        self.at(end)
        self.ledger.claim(visit.id, "restore")
        self.ledger.mark(visit.id, "restore", "ok")
        self.book.set_status(visit.id, S.DONE)

    def _preflight(self, visit_id: str, when: datetime) -> None:
        problems = self.rng.sample(PREFLIGHT_DEVICES, self.rng.choice([0, 0, 0, 1, 2]))
        for device in problems:
            code = self.rng.choice(sorted(PROBLEMS))
            self.event("preflight", when, visit_id=visit_id, device_id=device, result="problem",
                       detail={"problem": code, "text": PROBLEMS[code]})
        self.event("preflight", when, visit_id=visit_id, result="problem" if problems else "ok",
                   detail={"devices": len(PREFLIGHT_DEVICES), "problems": len(problems)})
        for device in problems[:1]:  # the first one fixed before the visit
            self.event("preflight", when + timedelta(minutes=3), visit_id=visit_id,
                       device_id=device, result="cleared",
                       detail={"problem": "offline", "text": "已恢复"})

    def _late(self) -> float:
        roll = self.rng.random()
        if roll < 0.8:
            return self.rng.uniform(0.005, 1.5)
        return self.rng.uniform(61, 900)

    def _prepare(self, visit_id: str, key: str, due: datetime, description: str,
                 devices: list[str], guest: str, *, first: bool) -> None:
        if key in SKIPPABLE and self.rng.random() < 0.06:
            # The engine's stale skip: claimed and marked skipped-late, and said so.
            self.at(due + timedelta(minutes=40))
            self.ledger.claim(visit_id, key)
            self.ledger.mark(visit_id, key, "skipped-late")
            self.event("cue", due + timedelta(minutes=40), visit_id=visit_id, result="skipped",
                       detail={"cue": key, "due": due.isoformat(), "message": "stale: skipped"})
            return
        started = due + timedelta(seconds=self._late())
        self.at(started)
        self.ledger.claim(visit_id, key)
        if first:
            self.book.set_status(visit_id, S.PREPARING)
        self.event("cue", started, visit_id=visit_id, result="started",
                   detail={"cue": key, "description": description, "forced": False,
                           "due": due.isoformat()})
        ok = all([self._command(visit_id, device, started, key) for device in devices])
        if key in REMINDERS:
            ok = self._announce(visit_id, key, started, REMINDERS[key].format(g=guest)) and ok
        self.at(started + timedelta(seconds=2))
        self.ledger.mark(visit_id, key, "ok" if ok else "failed")

    def _command(self, visit_id: str, device: str, when: datetime, step: str) -> bool:
        desired = {"power": "on"}
        self.event("command", when, visit_id=visit_id, device_id=device,
                   detail={"desired": desired, "attempt": 1, "step": step})
        if self.rng.random() < FLAKY.get(device, 0.03):
            self.event("retry", when + timedelta(seconds=1), visit_id=visit_id,
                       device_id=device, detail={"desired": desired, "attempt": 2})
            self.event("command", when + timedelta(seconds=1), visit_id=visit_id,
                       device_id=device, detail={"desired": desired, "attempt": 2})
            self.event("failed", when + timedelta(seconds=3), visit_id=visit_id,
                       device_id=device, result="failed",
                       detail={"desired": desired, "attempts": 2, "step": step,
                               "reason": "no matching report within 1 s"})
            return False
        self.event("confirmed", when + timedelta(seconds=0.3), visit_id=visit_id,
                   device_id=device, result="ok", detail={"desired": desired, "attempts": 1})
        return True

    def _announce(self, visit_id: str, step: str, when: datetime, text: str) -> bool:
        number = f"{visit_id}:{step}:{self.rng.randrange(10**6)}"
        self.event("announcement", when, visit_id=visit_id, device_id="staff_intercom",
                   result="queued", detail={"step": step, "id": number, "text": text})
        roll = self.rng.random()
        if roll < 0.05:
            self.event("announcement", when + timedelta(seconds=20), visit_id=visit_id,
                       device_id="staff_intercom", result="failed",
                       detail={"step": step, "id": number, "text": text, "played": False})
            return False
        if roll < 0.08:
            self.event("announcement", when + timedelta(minutes=31), visit_id=visit_id,
                       device_id="staff_intercom", result="expired",
                       detail={"id": number, "text": text,
                               "run_until": (when + timedelta(minutes=30)).isoformat()})
            return False
        self.event("announcement", when + timedelta(seconds=4), visit_id=visit_id,
                   device_id="staff_intercom", result="played",
                   detail={"step": step, "id": number, "text": text, "played": True})
        return True

    def _press(self, visit_id: str, trigger: str, key: str, when: datetime, text: str) -> None:
        source = self.rng.choice(PRESSERS)
        status = {"arrival": S.ARRIVED, "show_flat": S.AT_SHOW_FLAT, "departure": S.DEPARTING}
        self.at(when)
        self.book.set_status(visit_id, status[trigger])
        self.event("trigger", when, visit_id=visit_id, source=source, result="ok",
                   detail={"trigger": trigger})
        if self.rng.random() < 0.2:  # a second thumb, a moment later
            self.event("trigger", when + timedelta(seconds=1), visit_id=visit_id,
                       source=self.rng.choice(PRESSERS), result="ignored",
                       detail={"trigger": trigger, "message": f"{trigger} was just pressed"})
        started = when + timedelta(seconds=self.rng.uniform(0.001, 0.05))
        self.at(started)
        self.ledger.claim(visit_id, key)
        self.event("cue", started, visit_id=visit_id, result="started",
                   detail={"cue": key, "description": key, "forced": False,
                           "due": when.isoformat()})
        ok = self._announce(visit_id, key, started, text)
        self.at(started + timedelta(seconds=5))
        self.ledger.mark(visit_id, key, "ok" if ok else "failed")

    # --- walk-ins ----------------------------------------------------------------------------

    def walk_in(self, when: datetime, visit_id: str | None, *, surname: str | None = None,
                booked_after: timedelta | None = None) -> int:
        self._walk_in_ids += 1
        number = self._walk_in_ids
        name = surname or self.rng.choice(GUESTS)[0]
        self.event("walk_in", when, visit_id=visit_id, source=self.rng.choice(PRESSERS),
                   result="recorded",
                   detail={"walk_in_id": number, "during_visit": visit_id is not None,
                           "surname": name, "honorific": "女士"})
        self.made.walk_ins += 1
        if booked_after is not None:
            self.event("walk_in", when + booked_after, source="app:concierge", result="booked",
                       detail={"walk_in_id": number, "booking": f"v-booked{number}"})
        return number

    # --- the month ---------------------------------------------------------------------------

    def month(self, first: date, days: int, *, skip: set[date]) -> Made:
        """About one visit a day at 10:00-16:00, on every day but those in `skip`."""
        day = first
        while day < first + timedelta(days=days):
            if day not in skip and self.rng.random() < 0.85:
                hour = self.rng.choice([10, 11, 14, 15, 16])
                self.visit(datetime(day.year, day.month, day.day, hour, 0, tzinfo=self.tz))
            day += timedelta(days=1)
        # Walk-ins outside visits: some booked back, one not, one with markup for a name.
        for offset, booked in ((3, timedelta(days=1)), (9, None), (15, timedelta(hours=3))):
            when = datetime(first.year, first.month, first.day, 12, 30, tzinfo=self.tz)
            self.walk_in(when + timedelta(days=offset), None, booked_after=booked)
        self.walk_in(datetime(first.year, first.month, first.day, 12, 40, tzinfo=self.tz)
                     + timedelta(days=20), None, surname=MARKUP_SURNAME)
        self.events.flush()
        return self.made
