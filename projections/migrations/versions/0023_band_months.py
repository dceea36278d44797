"""the MPI distribution of the whole portfolio as of an instant from running counts by month: the score history's
rows that began and ended in each month, per band of ten points, and an index on the history's ends

Filled from the score history already projected (a rebuild counts it again at its end).

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_rm_score_history_ended", "rm_score_history", ["valid_to", "at", "value"])
    op.create_table(
        "rm_band_months",
        sa.Column("band", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("month", sa.Date(), primary_key=True),
        sa.Column("entered", sa.Integer(), nullable=False),
        sa.Column("exited", sa.Integer(), nullable=False),
        sqlite_with_rowid=False,
    )
    bind = op.get_bind()
    band = "CASE " + " ".join(f"WHEN value >= {n * 10} THEN {n}" for n in range(9, 0, -1)) + " ELSE 0 END"
    if bind.dialect.name == "postgresql":
        began = "CAST(date_trunc('month', at) AS DATE)"
        ended = "CAST(date_trunc('month', GREATEST(at, valid_to)) AS DATE)"
    else:
        began, ended = "date(at, 'start of month')", "date(max(at, valid_to), 'start of month')"
    bind.exec_driver_sql(
        f"""
        INSERT INTO rm_band_months (band, month, entered, exited)
        SELECT band, month, SUM(entered), SUM(exited)
        FROM (
            SELECT {band} AS band, {began} AS month, 1 AS entered, 0 AS exited FROM rm_score_history
            UNION ALL
            SELECT {band}, {ended}, 0, 1 FROM rm_score_history WHERE valid_to IS NOT NULL
        ) AS changes
        GROUP BY band, month
        """  # noqa: S608 - built from the constants above
    )


def downgrade() -> None:
    op.drop_table("rm_band_months")
    op.drop_index("ix_rm_score_history_ended", table_name="rm_score_history", if_exists=True)
