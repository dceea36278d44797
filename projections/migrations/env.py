"""Alembic environment: the caller passes an open connection (see projections.migrate)."""

from __future__ import annotations

from alembic import context

from projections.tables import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
