"""the facets' running counts by month of submission: the dashboard's filter choices as of an instant sum the months
before it instead of grouping every innovation submitted by then

Filled from the innovations already projected (a rebuild counts them again at its end).

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
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
        "rm_facet_months",
        sa.Column("facet", sa.String(16), primary_key=True),
        sa.Column("key", sa.String(80), primary_key=True),
        sa.Column("month", sa.Date(), primary_key=True),
        sa.Column("innovations", sa.Integer(), nullable=False),
        sqlite_with_rowid=False,
    )
    bind = op.get_bind()
    dialect = bind.dialect.name
    if dialect == "postgresql":
        month = "CAST(date_trunc('month', submitted_at) AS DATE)"
    else:
        month = "date(submitted_at, 'start of month')"
    for facet, key, source in (
        ("country", "country", "rm_innovations"),
        ("organisation", _uuid_text("organisation_id", dialect), "rm_innovations"),
        ("ecosystem", _uuid_text("ecosystem_id", dialect), "rm_innovations WHERE ecosystem_id IS NOT NULL"),
        ("theme", "theme", "rm_innovation_themes"),
    ):
        bind.exec_driver_sql(
            "INSERT INTO rm_facet_months (facet, key, month, innovations) "  # noqa: S608 - names from this list
            f"SELECT '{facet}', {key}, {month}, count(*) FROM {source} GROUP BY {key}, {month}"
        )


def downgrade() -> None:
    op.drop_table("rm_facet_months")
