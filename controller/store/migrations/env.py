"""Alembic's environment for vipctl: always run from controller/store/schema.py, on the
connection it opened and locked (never from an alembic.ini)."""

from __future__ import annotations

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=None, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
