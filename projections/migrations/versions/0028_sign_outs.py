"""each person's count of sign-outs, in their password's row: a sign-out ends every session of theirs

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("passwords") as batch:
        batch.add_column(sa.Column("sign_outs", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("passwords") as batch:
        batch.drop_column("sign_outs")
