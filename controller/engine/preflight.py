"""The preflight: before a visit, every device it will use is checked, changing nothing.

A device passes when it is available (its last availability message said online), its
state can be read (a device that answers a state query is asked, and must report within its
confirmation timeout: an intercom gateway answers its `<t>/get`; a sensor must have reported
every reading its site entry measures), and otherwise fails as `offline`, `no_answer` or
`unreadable`. Queries only read: Tasmota's `Status 10` and empty-payload commands,
Zigbee2MQTT's /get, the vipctl gateways' `<t>/get`.

Each run writes one `preflight` event per problem, one per problem a previous run found
and this one did not (`cleared`), and a summary. The visit's current problems are read
back from those events, so they survive a restart. New problems are told to engineering
over the intercom, while the visit has not begun: there is still time to fix them.

Visits checked at the same moment (a restart with a morning of bookings, several booked at
short notice) share one check of each device: a check that starts while another of the
same device still waits for its answer takes that answer (a finished one is never reused:
a re-check after a fix must look again). A problem engineering has been told of is not
told again for the next visits until RETELL_AFTER of site time has passed or it was fixed
in between: the event log still records it for each visit, and the page shows it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from common.tasks import TaskSet
from controller.engine.announcer import Announcer
from controller.store.book import VisitBook
from controller.store.events import MAX_PAGE, EventLog
from controller.store.visits import Visit
from devices.device import Device
from devices.model import Announcement
from devices.registry import DeviceRegistry
from scenes.model import DEFAULT_ANNOUNCE_PRIORITY, Scene

log = logging.getLogger(__name__)

KIND = "preflight"
STEP = "preflight"  # its key in the step ledger, and the step its reminder is said for
# What staff are told for each problem (the codes are the shared event contract's).
PROBLEM_TEXT = {
    "offline": "{name}离线",
    "no_answer": "{name}没有应答",
    "unreadable": "{name}读不到状态",
}
CLEARED_TEXT = "{name}已恢复正常"
# How long (site time) a problem already told of is not told again for another visit.
RETELL_AFTER = timedelta(minutes=30)


@dataclass(frozen=True, slots=True)
class Problem:
    device_id: str
    name: str
    problem: str  # offline, no_answer, unreadable
    text: str


@dataclass(frozen=True, slots=True)
class PreflightReport:
    visit_id: str
    checked: list[str]
    problems: list[Problem]
    cleared: list[str] = field(default_factory=list)
    told: bool = False  # a reminder to engineering was sent

    def as_dict(self) -> dict[str, Any]:
        return {"visit_id": self.visit_id, "checked": self.checked, "cleared": self.cleared,
                "problems": [p.__dict__ for p in self.problems], "told": self.told}


class Preflight:
    """Checks a visit's devices; `measures`: what each sensor must have reported; `also`:
    devices the scene does not name but a visit uses (the buttons that trigger it)."""

    def __init__(self, *, scene: Scene, registry: DeviceRegistry, events: EventLog,
                 announcer: Announcer, book: VisitBook, clock: Callable[[], datetime],
                 measures: Mapping[str, Collection[str]] | None = None,
                 also: Collection[str] = (), speed: float = 1.0) -> None:
        self.scene = scene
        self.settings = scene.preflight_settings()
        self.registry = registry
        self.events = events
        self.announcer = announcer
        self.book = book
        self.clock = clock
        self.measures = {k: tuple(v) for k, v in (measures or {}).items()}
        self.also = tuple(also)
        self.speed = speed
        self._tasks = TaskSet("preflight", logger=log)
        # device id → its check still waiting for an answer, which others join
        self._checks: dict[str, asyncio.Future[str | None]] = {}
        # visit id → its problems after its last run here (one read of the log per visit)
        self._current: dict[str, dict[str, dict[str, Any]]] = {}
        # (device id, problem) → when engineering was last told of it (site time)
        self._told: dict[tuple[str, str], datetime] = {}

    def devices(self) -> list[Device]:
        """Every device a visit uses: the scene's targets (groups resolved), the sensors its
        conditions read, its intercoms, and `also`."""
        names = self.scene.targets() | self.scene.sensors() | set(self.also)
        found: dict[str, Device] = {}
        for name in names:
            for device in self.registry.resolve(name):
                found[device.id] = device
        return [found[k] for k in sorted(found)]

    async def _check(self, device: Device) -> str | None:
        # Just after start-up the retained availability may be on its way.
        if await device.wait_heard(device.policy.confirm_timeout) is not True:
            return "offline"
        if device.can_query and not await device.probe(device.policy.confirm_timeout):
            return "no_answer"
        if any(device.state.get(name) is None for name in self.measures.get(device.id, ())):
            return "unreadable"
        return None

    def _shared_check(self, device: Device) -> asyncio.Future[str | None]:
        check = self._checks.get(device.id)
        if check is None or check.done():
            check = asyncio.ensure_future(self._check(device))
            self._checks[device.id] = check
        return check

    def preload(self, visit_ids: Collection[str]) -> None:
        """What the log says of these visits' problems, in one read (at start-up, for
        every open visit: their preflights may all be due at once)."""
        current: dict[str, dict[str, dict[str, Any]]] = {v: {} for v in visit_ids}
        for event in self.events.of_visits(current, [KIND]):
            if event.visit_id is None or event.device_id is None:
                continue
            if event.result == "problem":
                current[event.visit_id][event.device_id] = dict(event.detail)
            elif event.result == "cleared":
                current[event.visit_id].pop(event.device_id, None)
        self._current.update(current)

    def problems(self, visit_id: str) -> dict[str, dict[str, Any]]:
        """The visit's problems as its preflight events leave them: device id → detail."""
        return self.state(visit_id)[0]

    def state(self, visit_id: str) -> tuple[dict[str, dict[str, Any]], datetime | None]:
        """The visit's problems (device id → detail) and when it was last checked (None:
        never), as its preflight events leave them."""
        current: dict[str, dict[str, Any]] = {}
        checked: datetime | None = None
        for event in reversed(self.events.query(visit_id=visit_id, kinds=[KIND],
                                                limit=MAX_PAGE)):
            if event.device_id is None:
                checked = event.at
                continue
            if event.result == "problem":
                current[event.device_id] = dict(event.detail)
            elif event.result == "cleared":
                current.pop(event.device_id, None)
        return current, checked

    async def run(self, visit_id: str, *, source: str) -> PreflightReport:
        """Check now; problems to the event log, and the new ones to engineering."""
        visit = self.book.get(visit_id)
        before = self._current.get(visit_id)
        if before is None:
            before = self.problems(visit_id)
        devices = self.devices()
        # shield: one visit's run being cancelled must not cancel the check the others share
        found = await asyncio.gather(*(asyncio.shield(self._shared_check(d)) for d in devices))
        problems = [Problem(d.id, d.name, code, PROBLEM_TEXT[code].format(name=d.name))
                    for d, code in zip(devices, found, strict=True) if code is not None]
        for p in problems:
            self.events.append_soon(KIND, visit_id=visit_id, source=source,
                                    device_id=p.device_id,
                                    detail={"problem": p.problem, "text": p.text},
                                    result="problem")
        now_wrong = {p.device_id for p in problems}
        self._current[visit_id] = {p.device_id: {"problem": p.problem, "text": p.text}
                                   for p in problems}
        for key in [k for k in self._told if k[0] not in now_wrong]:
            del self._told[key]  # fixed since: should it fail again, that is news
        cleared = sorted(set(before) - now_wrong)
        for device_id in cleared:
            name = self.registry.devices[device_id].name if device_id in \
                self.registry.devices else device_id
            self.events.append_soon(KIND, visit_id=visit_id, source=source,
                                    device_id=device_id,
                                    detail={"problem": before[device_id].get("problem"),
                                            "text": CLEARED_TEXT.format(name=name)},
                                    result="cleared")
        self.events.append_soon(KIND, visit_id=visit_id, source=source,
                                detail={"devices": len(devices), "problems": len(problems)},
                                result="problem" if problems else "ok")
        new = [p for p in problems if before.get(p.device_id, {}).get("problem") != p.problem
               and not self._told_lately(p)]
        told = bool(new) and self.clock() < visit.start and self._tell(visit, new)
        if told:
            for p in new:
                self._told[(p.device_id, p.problem)] = self.clock()
        if problems:
            log.warning("preflight of %s: %s", visit_id, "; ".join(p.text for p in problems))
        return PreflightReport(visit_id, [d.id for d in devices], problems, cleared, told)

    def _told_lately(self, problem: Problem) -> bool:
        at = self._told.get((problem.device_id, problem.problem))
        return at is not None and self.clock() - at < RETELL_AFTER / self.speed

    def _tell(self, visit: Visit, new: list[Problem]) -> bool:
        """Engineering is told, in the background (an API caller does not wait for it to be
        spoken). False when the scene has no intercom to tell it on."""
        defaults = self.scene.announcements
        intercom = self.settings.intercom or (defaults.intercom if defaults else None)
        if intercom is None:
            return False
        priority = self.settings.priority if self.settings.priority is not None else \
            (defaults.priority if defaults else DEFAULT_ANNOUNCE_PRIORITY)
        who = "、".join(self.settings.audience)
        text = (f"设备预检发现问题:{';'.join(p.text for p in new)}。"
                f"请{who}在{visit.salutation}到访前处理")
        runs = sum(1 for e in self.events.query(visit_id=visit.id, kinds=[KIND], limit=MAX_PAGE)
                   if e.device_id is None)
        announcement = Announcement(f"{visit.id}:{STEP}:{runs}", text, priority)
        self._tasks.spawn(self.announcer.say(intercom, announcement, visit_id=visit.id,
                                             step=STEP), f"{visit.id}|preflight-say")
        return True

    async def close(self) -> None:
        await self._tasks.stop()
