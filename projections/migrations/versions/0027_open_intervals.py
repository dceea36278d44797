"""one stage or one status of the portfolio as of an instant: the intervals indexed by stage (status) and entry, with
the innovation, so that the intervals of one kind open at an instant are read from an index

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_rm_stage_intervals_open", "rm_stage_intervals", ["stage", "entered_at", "exited_at", "innovation_id"]
    )
    op.create_index(
        "ix_rm_status_intervals_open", "rm_status_intervals", ["status", "entered_at", "exited_at", "innovation_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_rm_status_intervals_open", table_name="rm_status_intervals", if_exists=True)
    op.drop_index("ix_rm_stage_intervals_open", table_name="rm_stage_intervals", if_exists=True)
