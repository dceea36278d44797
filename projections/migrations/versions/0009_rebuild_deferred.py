"""what a rebuild puts off until its end: the secondary indexes it dropped, and the running counts

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

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
    # The table is the only record of the indexes an unfinished rebuild dropped.
    if op.get_bind().exec_driver_sql("SELECT count(*) FROM rm_deferred").scalar():
        raise RuntimeError(
            "a rebuild is unfinished (rm_deferred has rows): let it end, or finish it with 'tracker db upgrade', "
            "before downgrading"
        )
    op.drop_table("rm_deferred")
