"""evaluation rounds: evaluators' assignments and deliberation notes

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rm_assignments",
        sa.Column("innovation_id", sa.Uuid(), primary_key=True),
        sa.Column("evaluator_id", sa.String(200), primary_key=True),
        sa.Column("seq", sa.Integer(), primary_key=True),
        sa.Column("stage", sa.String(16), nullable=False),
        sa.Column("assigned_at", sa.DateTime(), nullable=False),
        sa.Column("due_on", sa.Date()),
        sa.Column("assessed_at", sa.DateTime()),
        sa.Column("assigned_by", sa.String(200), nullable=False),
    )
    op.create_index("ix_rm_assignments_queue", "rm_assignments", ["evaluator_id", "assessed_at", "due_on"])
    op.create_table(
        "rm_notes",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("innovation_id", sa.Uuid(), nullable=False),
        sa.Column("stage", sa.String(16), nullable=False),
        sa.Column("author_id", sa.String(200), nullable=False),
        sa.Column("author_role", sa.String(32), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("reply_to", sa.Uuid()),
        sa.Column("written_at", sa.DateTime(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_rm_notes_innovation", "rm_notes", ["innovation_id", "position"])


def downgrade() -> None:
    op.drop_table("rm_notes")
    op.drop_table("rm_assignments")
