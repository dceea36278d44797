"""the innovation list sorted by ecosystem, ties by submission, from an index (the dashboard's column sort)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_rm_innovations_ecosystem_acronym", "rm_innovations", ["ecosystem_acronym", "submitted_at"])


def downgrade() -> None:
    op.drop_index("ix_rm_innovations_ecosystem_acronym", table_name="rm_innovations")
