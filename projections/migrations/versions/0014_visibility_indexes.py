"""indexes for reads under the confidentiality policy

A provider's or evaluator's list is counted in two parts (what is public, and what of a confidential stage they may
see); these indexes let each part be answered from an index.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def _replace_evaluator_index(columns: list[str]) -> None:
    """Redefine ix_rm_assessments_evaluator. An unfinished rebuild may have dropped it and kept its old definition in
    rm_deferred to build at its end: that record goes, and the index is built now as defined here."""
    op.drop_index("ix_rm_assessments_evaluator", table_name="rm_assessments", if_exists=True)
    op.get_bind().exec_driver_sql("DELETE FROM rm_deferred WHERE name = 'ix_rm_assessments_evaluator'")
    op.create_index("ix_rm_assessments_evaluator", "rm_assessments", columns)


def upgrade() -> None:
    op.create_index("ix_rm_innovations_stage_organisation", "rm_innovations", ["stage", "organisation_id"])
    _replace_evaluator_index(["evaluator_id", "innovation_id", "stage"])
    op.create_index("ix_rm_assignments_evaluator", "rm_assignments", ["evaluator_id", "innovation_id", "seq"])


def downgrade() -> None:
    # An unfinished rebuild may have dropped these; 0009 then refuses the downgrade and all of it is undone.
    op.drop_index("ix_rm_assignments_evaluator", table_name="rm_assignments", if_exists=True)
    _replace_evaluator_index(["evaluator_id"])
    op.drop_index("ix_rm_innovations_stage_organisation", table_name="rm_innovations", if_exists=True)
