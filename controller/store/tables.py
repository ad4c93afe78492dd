"""The tables, and how times are stored in them.

Every timestamp is stored as naive UTC (`UTCDateTime`), so that a comparison in SQL means
the same on every database and no reader ever guesses a zone. Callers always get aware
datetimes back.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

Clock = Callable[[], datetime]
"""Time is injectable everywhere in vipctl: a callable returning an aware datetime."""

def utc_now() -> datetime:
    """The default clock."""
    return datetime.now(UTC)


def to_utc(value: datetime) -> datetime:
    """`value` in UTC; a naive datetime is a programming error here, never a guess."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value.isoformat()} where an aware one is required")
    return value.astimezone(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """An aware datetime stored as naive UTC, read back as aware UTC."""

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else to_utc(value).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    pass


# Every row that belongs to a site carries its id (site.id in the site file), so that sites
# can share one database; every query of the store filters on it (Database.site_id).
SITE_ID_LENGTH = 64


def _site_id(*, primary_key: bool = False) -> Mapped[str]:
    return mapped_column(String(SITE_ID_LENGTH), primary_key=primary_key,
                         index=not primary_key)


class VisitRow(Base):
    __tablename__ = "visits"
    __table_args__ = (Index("ix_visits_site_id_start_at", "site_id", "start_at"),)

    # Unique across sites (VisitBook draws it until it is), so that head office can name
    # a visit by its id alone.
    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    site_id: Mapped[str] = mapped_column(String(SITE_ID_LENGTH))
    surname: Mapped[str] = mapped_column(String(32))
    honorific: Mapped[str] = mapped_column(String(16))
    full_name: Mapped[str | None] = mapped_column(String(128))
    title: Mapped[str | None] = mapped_column(String(64))
    party_size: Mapped[int] = mapped_column(Integer)
    car_plate: Mapped[str | None] = mapped_column(String(32))
    # `end` is start + duration, stored so that the overlap test is plain column
    # comparisons (date arithmetic in SQL differs between databases).
    start: Mapped[datetime] = mapped_column("start_at", UTCDateTime, index=True)
    end: Mapped[datetime] = mapped_column("end_at", UTCDateTime, index=True)
    notes: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), index=True)
    source: Mapped[str] = mapped_column(String(32))
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class VisitStatusRow(Base):
    """When a visit entered each status (one row per transition)."""

    __tablename__ = "visit_status_history"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    site_id: Mapped[str] = _site_id()
    visit_id: Mapped[str] = mapped_column(ForeignKey("visits.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class ScheduleLockRow(Base):
    """One row per site: a site's bookings are serialised, other sites' go on."""

    __tablename__ = "schedule_lock"

    site_id: Mapped[str] = _site_id(primary_key=True)
    generation: Mapped[int] = mapped_column(BigInteger, default=0)


class StepRow(Base):
    __tablename__ = "executed_steps"
    __table_args__ = (UniqueConstraint("visit_id", "key", name="uq_executed_steps_visit_key"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    site_id: Mapped[str] = _site_id()
    visit_id: Mapped[str] = mapped_column(ForeignKey("visits.id"))
    key: Mapped[str] = mapped_column(String(200))
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    result: Mapped[str | None] = mapped_column(String(16))
    result_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class EventRow(Base):
    __tablename__ = "events"
    __table_args__ = (Index("ix_events_visit_id_id", "visit_id", "id"),
                      Index("ix_events_site_id_id", "site_id", "id"))

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    site_id: Mapped[str] = mapped_column(String(SITE_ID_LENGTH))
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    # No foreign key: an event about an unknown visit id (a garbage trigger) must still
    # be written.
    visit_id: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str | None] = mapped_column(String(64))
    device_id: Mapped[str | None] = mapped_column(String(128), index=True)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    result: Mapped[str | None] = mapped_column(String(32))


class KeyValueRow(Base):
    """Small pieces of daemon state that must survive a restart (the claim table)."""

    __tablename__ = "kv"

    site_id: Mapped[str] = _site_id(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WalkInRow(Base):
    """A customer without a booking (P1): recorded by the concierge, kept until the
    客户管家 has turned it into a booking."""

    __tablename__ = "walk_ins"
    __table_args__ = (Index("ix_walk_ins_site_id_id", "site_id", "id"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    site_id: Mapped[str] = mapped_column(String(SITE_ID_LENGTH))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(String(64))
    # The VIP visit under way when the customer came (None: none was); no foreign key, as
    # the events' visit_id: the walk-in stands on its own.
    visit_id: Mapped[str | None] = mapped_column(String(16))
    surname: Mapped[str | None] = mapped_column(String(32))
    honorific: Mapped[str | None] = mapped_column(String(16))
    # Secret-like: never logged, never in an event, never said; shown in full only to
    # concierges and admins (controller/api/routes/walk_ins.py).
    phone: Mapped[str | None] = mapped_column(String(32))
    preferred: Mapped[datetime | None] = mapped_column("preferred_at", UTCDateTime)
    # waiting (a callback to make), booked (a visit made from it), received (no VIP was
    # engaged: the 客户管家 was called at once).
    status: Mapped[str] = mapped_column(String(16))
    booking: Mapped[str | None] = mapped_column(String(16))
