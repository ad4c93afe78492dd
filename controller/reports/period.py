"""A report's month, as written on the command line (`2026-12`), in the site's timezone."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from controller.errors import BadInput

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True, slots=True)
class Month:
    year: int
    month: int

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    def next(self) -> Month:
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    def bounds(self, tz: ZoneInfo) -> tuple[datetime, datetime]:
        """[since, until): midnight of its first day to midnight of the next month's."""
        until = self.next().first_day()
        return (datetime.combine(self.first_day(), datetime.min.time(), tz),
                datetime.combine(until, datetime.min.time(), tz))

    def weeks(self) -> list[date]:
        """The Mondays of the weeks that hold a day of this month."""
        monday = self.first_day() - timedelta(days=self.first_day().weekday())
        last = self.next().first_day()
        out = []
        while monday < last:
            out.append(monday)
            monday += timedelta(days=7)
        return out


def parse_month(text: str) -> Month:
    """`2026-12` → Month; anything else is refused with the reason (BadInput)."""
    found = _MONTH.match(text.strip())
    if not found:
        raise BadInput([f"month {text!r}: write it as YEAR-MONTH, e.g. 2026-12"])
    year, month = int(found[1]), int(found[2])
    if not 1 <= month <= 12:
        raise BadInput([f"month {text!r}: there is no month {month} (1 to 12)"])
    if year < 2000:
        raise BadInput([f"month {text!r}: year {year} is before any visit vipctl keeps"])
    return Month(year, month)
