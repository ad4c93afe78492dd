"""Sites share a database: every row that belongs to a site carries its id.

The rows already there belong to the site that upgrades (the releases before this one ran
one site per database); schema.py passes its id as the `site_id` attribute.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SITE_ID = sa.String(length=64)
TIME = sa.DateTime(timezone=False)
# Tables that gain a site_id column, and the index each gets with it.
_ROWS = {
    "visits": ("ix_visits_site_id_start_at", ["site_id", "start_at"]),
    "visit_status_history": ("ix_visit_status_history_site_id", ["site_id"]),
    "executed_steps": ("ix_executed_steps_site_id", ["site_id"]),
    "events": ("ix_events_site_id_id", ["site_id", "id"]),
}


def upgrade() -> None:
    config = op.get_context().config
    assert config is not None  # schema.py always runs it with one
    site = config.attributes["site_id"]
    for name, (index, columns) in _ROWS.items():
        op.add_column(name, sa.Column("site_id", SITE_ID, nullable=True))
        op.execute(sa.table(name, sa.column("site_id")).update().values(site_id=site))
        # SQLite cannot make a column NOT NULL in place: batch mode copies the table.
        with op.batch_alter_table(name) as batch:
            batch.alter_column("site_id", existing_type=SITE_ID, nullable=False)
        op.create_index(index, name, columns)

    # The key-value rows (the claims) are keyed by site and key now: a new table.
    op.create_table(
        "kv_sites",
        sa.Column("site_id", SITE_ID, nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("site_id", "key"),
    )
    op.execute(sa.text("INSERT INTO kv_sites (site_id, key, value, updated_at) "
                       "SELECT :site, key, value, updated_at FROM kv").bindparams(site=site))
    op.drop_table("kv")
    op.rename_table("kv_sites", "kv")

    # One schedule lock row per site; the generation counter only ever serialised.
    op.drop_table("schedule_lock")
    op.create_table(
        "schedule_lock",
        sa.Column("site_id", SITE_ID, nullable=False),
        sa.Column("generation", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("site_id"),
    )


def downgrade() -> None:
    raise NotImplementedError("the sites' rows cannot be told apart without site_id: "
                              "restore a backup made before the upgrade instead")
