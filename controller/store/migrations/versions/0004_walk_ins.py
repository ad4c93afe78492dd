"""Walk-ins (P1): customers without a booking, kept for the 客户管家's callback.

Revision ID: 0004
Revises: 0002 (the integrator rechains it onto 0003, the visits' party size, at the merge)
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0002"
branch_labels = None
depends_on = None

TIME = sa.DateTime(timezone=False)


def upgrade() -> None:
    op.create_table(
        "walk_ins",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  primary_key=True, autoincrement=True),
        sa.Column("site_id", sa.String(length=64), nullable=False),
        sa.Column("at", TIME, nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("visit_id", sa.String(length=16), nullable=True),
        sa.Column("surname", sa.String(length=32), nullable=True),
        sa.Column("honorific", sa.String(length=16), nullable=True),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("preferred_at", TIME, nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("booking", sa.String(length=16), nullable=True),
    )
    op.create_index("ix_walk_ins_site_id_id", "walk_ins", ["site_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_walk_ins_site_id_id", table_name="walk_ins")
    op.drop_table("walk_ins")
