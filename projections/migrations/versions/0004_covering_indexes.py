"""covering indexes for the as-of funnel (interval bounds with the stage or status) and country score groups

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The as-of funnel counts the intervals open at an instant by stage (status): with the stage (status) in the
    # index, the count is answered from the index alone, without visiting the table.
    with op.batch_alter_table("rm_stage_intervals") as batch_op:
        batch_op.drop_index("ix_rm_stage_intervals_asof")
        batch_op.create_index("ix_rm_stage_intervals_asof", ["entered_at", "exited_at", "stage"], unique=False)
    with op.batch_alter_table("rm_status_intervals") as batch_op:
        batch_op.drop_index("ix_rm_status_intervals_asof")
        batch_op.create_index("ix_rm_status_intervals_asof", ["entered_at", "exited_at", "status"], unique=False)
    # Score groups by country rank each country's values: this index hands them over already in order.
    with op.batch_alter_table("rm_innovations") as batch_op:
        batch_op.create_index("ix_rm_innovations_country_mpi", ["country", "mpi_value"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("rm_innovations") as batch_op:
        batch_op.drop_index("ix_rm_innovations_country_mpi")
    with op.batch_alter_table("rm_status_intervals") as batch_op:
        batch_op.drop_index("ix_rm_status_intervals_asof")
        batch_op.create_index("ix_rm_status_intervals_asof", ["entered_at", "exited_at"], unique=False)
    with op.batch_alter_table("rm_stage_intervals") as batch_op:
        batch_op.drop_index("ix_rm_stage_intervals_asof")
        batch_op.create_index("ix_rm_stage_intervals_asof", ["entered_at", "exited_at"], unique=False)
