"""the portfolio as of an instant sorted by MPI: the score history indexed by value (either order), ties by id

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_rm_score_history_top", "rm_score_history", [sa.text("value DESC"), "innovation_id", "at", "valid_to"]
    )
    op.create_index("ix_rm_score_history_low", "rm_score_history", ["value", "innovation_id", "at", "valid_to"])


def downgrade() -> None:
    op.drop_index("ix_rm_score_history_low", table_name="rm_score_history", if_exists=True)
    op.drop_index("ix_rm_score_history_top", table_name="rm_score_history", if_exists=True)
