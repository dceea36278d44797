"""assessment comments per criterion (rubric v1.1)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("rm_assessments") as batch_op:
        batch_op.add_column(sa.Column("comments", sa.JSON(), nullable=False, server_default=sa.text("'{}'")))


def downgrade() -> None:
    with op.batch_alter_table("rm_assessments") as batch_op:
        batch_op.drop_column("comments")
