"""Walk-ins (P1, 清场接待,确保一时一客): a customer who comes without a booking.

While a VIP visit is engaged (its guest on site), the concierge declines politely, hands
over the brochure and says the 客户管家 will call to book a viewing; the walk-in is kept
as a callback. Once that visit is over (its restore), the intercom tells the 客户管家 how
many callbacks wait. With no VIP engaged the 客户管家 is told at once that a customer is
here. A callback becomes a booking in one step, its preferred time the start, refused
for the same reasons as any booking (P1).

The phone number is never logged, put in an event or said: the events carry the walk-in's
id, and its name at most.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from common.tasks import TaskSet
from controller.engine.announcer import Announcer
from controller.engine.engine import Engine
from controller.store.events import EventLog
from controller.store.requests import VisitRequest
from controller.store.visits import ON_SITE, Visit
from controller.store.walk_ins import WalkIn, WalkInAlreadyBooked, WalkInBook, WalkInStatus
from devices.capabilities import Intercom
from devices.model import Announcement
from devices.registry import DeviceRegistry

log = logging.getLogger(__name__)

# What the intercom says. The 客户管家 hears a name when one was given, never a number.
CALL_NOW = "{who}来访,未预约,请客户管家到前台接待"
REMIND = "贵宾接待已结束,有{n}位来访客户等待回电预约,请客户管家跟进"
# As the scene's ordinary announcements: nothing here outranks the procedure's own.
PRIORITY = 5


class NoPreferredTime(ValueError):
    """A callback booked with no start given and none preferred."""


class WalkIns:
    """Records walk-ins, tells the 客户管家, and books callbacks."""

    def __init__(self, *, book: WalkInBook, engine: Engine, announcer: Announcer,
                 registry: DeviceRegistry, events: EventLog,
                 clock: Callable[[], datetime]) -> None:
        self.book = book
        self.engine = engine
        self.announcer = announcer
        self.registry = registry
        self.events = events
        self.clock = clock
        self._tasks = TaskSet("walk-ins", logger=log)
        # The visits with a walk-in waiting for a callback, read once when first needed and
        # then kept here (every walk-in is recorded and booked through this object): a
        # visit's end does not read the table.
        self._waiting_in: set[str] | None = None
        engine.steps.on_over.append(self.visit_over)

    def engaged(self) -> Visit | None:
        """The VIP visit whose guest is on site now (one, by P1), if any."""
        visits = self.engine.book.list(statuses=tuple(ON_SITE))
        return visits[0] if visits else None

    async def record(self, *, source: str, surname: str | None = None,
                     honorific: str | None = None, phone: str | None = None,
                     preferred: datetime | None = None) -> WalkIn:
        """Keep the walk-in; with no VIP engaged, call the 客户管家 to the front desk."""
        visit = self.engaged()
        walk_in = self.book.record(source=source, visit_id=visit.id if visit else None,
                                   surname=surname, honorific=honorific, phone=phone,
                                   preferred=preferred)
        if walk_in.visit_id is not None and self._waiting_in is not None:
            self._waiting_in.add(walk_in.visit_id)
        self.events.append("walk_in", visit_id=walk_in.visit_id, source=source, detail={
            "walk_in_id": walk_in.id, "during_visit": walk_in.during_visit,
            "surname": surname, "honorific": honorific}, result="recorded")
        if visit is None:
            text = CALL_NOW.format(who=walk_in.salutation if surname else "有客户")
            self._say(f"walk-in:{walk_in.id}:call", text, visit_id=None)
        return walk_in

    def visit_over(self, visit_id: str) -> None:
        """After a visit's restore: if customers came during it and wait for a call, say
        how many callbacks wait in all."""
        if self._waiting_in is None:
            self._waiting_in = self.book.visits_waiting()
        if visit_id not in self._waiting_in:
            return
        waiting = len(self.book.waiting())
        self._say(f"walk-in:remind:{visit_id}", REMIND.format(n=waiting), visit_id=visit_id,
                  reminded=waiting)

    async def book_callback(self, walk_in_id: int, *, source: str,
                            start: datetime | None = None,
                            duration: timedelta | None = None) -> tuple[WalkIn, Visit]:
        """The callback as a booking: its preferred time the start unless `start` is given.
        BookingRefused (P1, a start past) as for any booking; ValidationError for a walk-in
        with no name."""
        walk_in = self.book.get(walk_in_id)
        if walk_in.status is WalkInStatus.BOOKED:
            raise WalkInAlreadyBooked(walk_in.id, walk_in.booking)
        start = start or walk_in.preferred
        if start is None:
            raise NoPreferredTime(f"walk-in {walk_in.id} gave no preferred time: give a start")
        fields: dict[str, object] = {
            "surname": walk_in.surname, "honorific": walk_in.honorific or "先生",
            "start": start, "notes": f"来访客户回电预约(walk-in {walk_in.id})"}
        if duration is not None:
            fields["duration"] = duration
        request = VisitRequest.model_validate(fields, context={"tz": self.engine.tz})
        visit = await self.engine.book_visit(request, source=source)
        walk_in = self.book.mark_booked(walk_in.id, visit.id)
        self._waiting_in = None  # read again when next needed
        self.events.append("walk_in", visit_id=visit.id, source=source, detail={
            "walk_in_id": walk_in.id, "booking": visit.id}, result="booked")
        return walk_in, visit

    async def stop(self) -> None:
        await self._tasks.stop()

    # --- the intercom ---------------------------------------------------------------------

    def intercom(self) -> str | None:
        """The scene's intercom, or the site's only one."""
        defaults = self.engine.scene.announcements
        if defaults is not None and defaults.intercom:
            return defaults.intercom
        intercoms = list(self.registry.having(Intercom))
        return intercoms[0] if len(intercoms) == 1 else None

    def _say(self, announcement_id: str, text: str, *, visit_id: str | None,
             reminded: int | None = None) -> None:
        intercom = self.intercom()
        if intercom is None:
            log.warning("walk-in: no intercom to tell the 客户管家 with")
            return
        announcement = Announcement(announcement_id, text, PRIORITY, "zh")

        async def say() -> None:
            played = await self.announcer.say(intercom, announcement, visit_id=visit_id,
                                              step="walk-in")
            if played and reminded is not None:
                self.events.append("walk_in", visit_id=visit_id, source="vipctl",
                                   detail={"waiting": reminded}, result="reminded")

        self._tasks.spawn(say(), announcement_id)
