"""what an import needs to be resumed after its process stopped: the process running it, the kept file, the filters,
how often it was resumed, and why a failed one failed (its reason's code and values; runtime.import_jobs)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("import_jobs") as batch:
        batch.add_column(sa.Column("runner", sa.String(200), nullable=False, server_default=""))
        batch.add_column(sa.Column("path", sa.Text()))
        batch.add_column(sa.Column("filters", sa.JSON()))
        batch.add_column(sa.Column("resumed", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("failure", sa.JSON()))


def downgrade() -> None:
    with op.batch_alter_table("import_jobs") as batch:
        for column in ("failure", "resumed", "filters", "path", "runner"):
            batch.drop_column(column)
