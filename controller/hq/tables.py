"""Head office's tables: every site's events, its now, its visits and the bookings sent to it.

Separate from a site's tables (controller/store/tables.py) and in a MetaData of their own:
head office's database is not a site's, and a site's migrations never touch these. Times
are stored as naive UTC, like the site's (UTCDateTime).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
)

from controller.store.tables import SITE_ID_LENGTH, UTCDateTime

metadata = MetaData()
# An event id is "<site>:<seq>" (controller/link/wire.py): a site id and a 64-bit number.
EVENT_ID_LENGTH = SITE_ID_LENGTH + 24
VISIT_ID_LENGTH = 64
REQUEST_ID_LENGTH = 64  # wire.REQUEST_ID allows 64 characters
SHORT = 64  # kinds, sources, results, statuses: the site's own short words

# One row per site event, once: the id is the primary key, and a bridge's replay is
# inserted with ON CONFLICT DO NOTHING.
hq_events = Table(
    "hq_events", metadata,
    Column("id", String(EVENT_ID_LENGTH), primary_key=True),
    Column("site", String(SITE_ID_LENGTH), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("kind", String(SHORT), nullable=False),
    Column("visit_id", String(VISIT_ID_LENGTH)),
    Column("source", String(SHORT)),
    Column("device_id", String(SHORT)),
    Column("result", String(SHORT)),
    Column("detail", JSON, nullable=False),
    Column("received", UTCDateTime, nullable=False),  # head office's clock: the lag
    Index("ix_hq_events_site_seq", "site", "seq"),
)

# A site's now: its last summary, when it was last heard from, its link.
hq_sites = Table(
    "hq_sites", metadata,
    Column("site", String(SITE_ID_LENGTH), primary_key=True),
    Column("name", String(200)),
    Column("summary", JSON),
    Column("summary_at", UTCDateTime),  # the site's clock: when it sent the summary
    Column("last_heard", UTCDateTime),  # the newest summary or event time from the site
    Column("last_seq", BigInteger),
    Column("link_up", Boolean),  # None: no bridge notification seen yet
    Column("link_since", UTCDateTime),  # head office's clock: when the link state changed
)

# Every site's visits as last reported (an event's visit or a summary's): head office's
# search. `reported` orders snapshots, so that a replayed old one never undoes a newer one.
hq_visits = Table(
    "hq_visits", metadata,
    Column("site", String(SITE_ID_LENGTH), primary_key=True),
    Column("visit_id", String(VISIT_ID_LENGTH), primary_key=True),
    Column("salutation", String(SHORT), nullable=False),
    Column("surname", String(SHORT), nullable=False),
    Column("honorific", String(SHORT), nullable=False),
    Column("party_size", Integer, nullable=False),
    Column("start", UTCDateTime, nullable=False),
    Column("end", UTCDateTime, nullable=False),
    Column("status", String(SHORT), nullable=False),
    Column("source", String(SHORT), nullable=False),
    Column("reported", UTCDateTime, nullable=False),
    Index("ix_hq_visits_surname", "surname"),
    Index("ix_hq_visits_start", "start"),
)

# The booking requests head office sent, and each one's reply when it came.
hq_bookings = Table(
    "hq_bookings", metadata,
    Column("request_id", String(REQUEST_ID_LENGTH), primary_key=True),
    Column("site", String(SITE_ID_LENGTH), nullable=False, index=True),
    Column("requested_by", String(SHORT)),
    Column("request", JSON, nullable=False),
    Column("sent_at", UTCDateTime, nullable=False),
    Column("reply", JSON),
    Column("ok", Boolean),
    Column("replied_at", UTCDateTime),
)
