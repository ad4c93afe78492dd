"""The schema of the releases before migrations (one site per database).

A database made by such a release has these tables and no alembic_version; vipctl stamps
it with this revision and upgrades it from here (controller/store/schema.py).

Revision ID: 0001
Revises:
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIME = sa.DateTime(timezone=False)  # naive UTC (tables.UTCDateTime)


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("at", TIME, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("visit_id", sa.String(length=64), nullable=True),
        sa.Column("source", sa.String(length=64), nullable=True),
        sa.Column("device_id", sa.String(length=128), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.Column("result", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_events_at", "events", ["at"])
    op.create_index("ix_events_device_id", "events", ["device_id"])
    op.create_index("ix_events_kind", "events", ["kind"])
    op.create_index("ix_events_visit_id_id", "events", ["visit_id", "id"])
    op.create_table(
        "kv",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "schedule_lock",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("generation", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "visits",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("surname", sa.String(length=32), nullable=False),
        sa.Column("honorific", sa.String(length=16), nullable=False),
        sa.Column("full_name", sa.String(length=128), nullable=True),
        sa.Column("title", sa.String(length=64), nullable=True),
        sa.Column("party_size", sa.Integer(), nullable=False),
        sa.Column("car_plate", sa.String(length=32), nullable=True),
        sa.Column("start_at", TIME, nullable=False),
        sa.Column("end_at", TIME, nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("cancel_reason", sa.Text(), nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_visits_end_at", "visits", ["end_at"])
    op.create_index("ix_visits_start_at", "visits", ["start_at"])
    op.create_index("ix_visits_status", "visits", ["status"])
    op.create_table(
        "executed_steps",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("visit_id", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("claimed_at", TIME, nullable=False),
        sa.Column("result", sa.String(length=16), nullable=True),
        sa.Column("result_at", TIME, nullable=True),
        sa.ForeignKeyConstraint(["visit_id"], ["visits.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("visit_id", "key", name="uq_executed_steps_visit_key"),
    )
    op.create_table(
        "visit_status_history",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("visit_id", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("at", TIME, nullable=False),
        sa.ForeignKeyConstraint(["visit_id"], ["visits.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_visit_status_history_visit_id", "visit_status_history", ["visit_id"])


def downgrade() -> None:
    for table in ("visit_status_history", "executed_steps", "visits", "schedule_lock", "kv",
                  "events"):
        op.drop_table(table)
