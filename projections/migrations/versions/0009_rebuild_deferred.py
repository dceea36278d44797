"""what a rebuild puts off until its end: the secondary indexes it dropped, and the running counts

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from projections.deferred import finish

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A rebuild on SQLite spent more time keeping the secondary indexes and the running counts up to date, event by
    # event, than building them once at its end takes (see projections.deferred).
    op.create_table(
        "rm_deferred",
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("statement", sa.Text(), nullable=True),
        sa.Column("touched_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    # Whatever a stopped rebuild left undone is done first: the table is the only record of the dropped indexes.
    finish(op.get_bind())
    op.drop_table("rm_deferred")
