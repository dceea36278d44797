"""the evaluators' grants: who may see an innovation in a confidential stage, as rows

An evaluator's list is counted in two parts; its confidential part now reads the evaluator's grants from one index
range. The table is filled from the assignments and assessments already projected (a rebuild left unfinished counts
them again at its end, as it does the running counts).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rm_grants",
        sa.Column("evaluator_id", sa.String(200), primary_key=True),
        sa.Column("innovation_id", sa.Uuid(), primary_key=True),
    )
    op.create_index("ix_rm_grants_innovation", "rm_grants", ["innovation_id"])
    op.get_bind().exec_driver_sql(
        """
        INSERT INTO rm_grants (evaluator_id, innovation_id)
        SELECT a.evaluator_id, a.innovation_id
        FROM rm_assignments a JOIN rm_innovations i ON i.id = a.innovation_id AND i.stage_seq = a.seq
        WHERE i.stage = 'identification'
        UNION
        SELECT s.evaluator_id, s.innovation_id
        FROM rm_assessments s JOIN rm_innovations i ON i.id = s.innovation_id
        WHERE i.stage = 'identification'
        """
    )


def downgrade() -> None:
    op.drop_table("rm_grants")
