"""the score groups over time: the rows of the score history each group gained and lost per month, with their MPIs'
sums, so that the groups at each month's start sum a few rows per group instead of ranking the score history at
every point

Filled from the score history already projected (a rebuild counts it again at its end).

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def _uuid_text(column: str, dialect: str) -> str:
    """A UUID column as its canonical text (SQLAlchemy keeps UUIDs on SQLite as 32 hex digits)."""
    if dialect == "postgresql":
        return f"CAST({column} AS TEXT)"
    parts = [(1, 8), (9, 4), (13, 4), (17, 4), (21, 12)]
    return "lower(" + " || '-' || ".join(f"substr({column}, {start}, {length})" for start, length in parts) + ")"


def upgrade() -> None:
    op.create_table(
        "rm_group_months",
        sa.Column("group_by", sa.String(16), primary_key=True),
        sa.Column("key", sa.String(80), primary_key=True),
        sa.Column("month", sa.Date(), primary_key=True),
        sa.Column("entered", sa.Integer(), nullable=False),
        sa.Column("entered_hundredths", sa.BigInteger(), nullable=False),
        sa.Column("exited", sa.Integer(), nullable=False),
        sa.Column("exited_hundredths", sa.BigInteger(), nullable=False),
        sqlite_with_rowid=False,
    )
    bind = op.get_bind()
    dialect = bind.dialect.name
    if dialect == "postgresql":
        began = "CAST(date_trunc('month', sh.at) AS DATE)"
        ended = "CAST(date_trunc('month', GREATEST(sh.at, sh.valid_to)) AS DATE)"
    else:
        began, ended = "date(sh.at, 'start of month')", "date(max(sh.at, sh.valid_to), 'start of month')"
    hundredths = "CAST(round(sh.value * 100) AS INTEGER)"
    scored = "rm_score_history sh JOIN rm_innovations i ON i.id = sh.innovation_id"
    groupings = {
        "country": (scored, "i.country"),
        "theme": (f"{scored} JOIN rm_innovation_themes th ON th.innovation_id = i.id", "th.theme"),
        "ecosystem": (f"{scored} AND i.ecosystem_id IS NOT NULL", _uuid_text("i.ecosystem_id", dialect)),
        "organisation": (scored, _uuid_text("i.organisation_id", dialect)),
    }
    for group_by, (source, key) in groupings.items():
        bind.exec_driver_sql(
            f"""
            INSERT INTO rm_group_months
                (group_by, key, month, entered, entered_hundredths, exited, exited_hundredths)
            SELECT '{group_by}', key, month, SUM(n_in), SUM(h_in), SUM(n_out), SUM(h_out)
            FROM (
                SELECT {key} AS key, {began} AS month, 1 AS n_in, {hundredths} AS h_in, 0 AS n_out, 0 AS h_out
                FROM {source}
                UNION ALL
                SELECT {key}, {ended}, 0, 0, 1, {hundredths} FROM {source} WHERE sh.valid_to IS NOT NULL
            ) AS changes
            GROUP BY key, month
            """  # noqa: S608 - built from the constants above
        )


def downgrade() -> None:
    op.drop_table("rm_group_months")
