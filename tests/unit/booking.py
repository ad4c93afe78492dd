"""A visit book on a test clock: the site, its times, and requests as the API would make them."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from controller.store.requests import VisitRequest
from controller.store.visits import VisitStatus

SITE = ZoneInfo("Asia/Shanghai")
TEARDOWN = timedelta(minutes=15)
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=SITE)
S = VisitStatus


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def at(hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 11, 20, hour, minute, second, tzinfo=SITE)


def request(
    start: datetime, minutes: float = 60, surname: str = "王", **more: object
) -> VisitRequest:
    return VisitRequest.model_validate(
        {"surname": surname, "honorific": "先生", "start": start, "duration": minutes, **more}
    )
