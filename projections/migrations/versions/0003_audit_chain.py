"""audit chain: the hash chain's link after each stored event, tracked like a projection

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TRACKING_NAME = "audit_chain"


def upgrade() -> None:
    op.create_table(
        "rm_audit_chain",
        sa.Column("position", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("position"),
    )
    # Starting at 0 makes the next catch-up chain the whole log; projections already past a position skip it.
    tracking = sa.table("rm_tracking", sa.column("name"), sa.column("position"), sa.column("updated_at"))
    op.bulk_insert(tracking, [{"name": TRACKING_NAME, "position": 0, "updated_at": datetime(2000, 1, 1)}])


def downgrade() -> None:
    tracking = sa.table("rm_tracking", sa.column("name"))
    op.execute(tracking.delete().where(tracking.c.name == TRACKING_NAME))
    op.drop_table("rm_audit_chain")
