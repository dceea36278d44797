"""the facets' running counts: how many innovations each country, theme, ecosystem and organisation has

The dashboard's filter choices for the whole portfolio now read these rows instead of grouping every innovation. The
table is filled from the innovations already projected (a rebuild counts them again at its end, as it does the other
running counts).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
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
        "rm_facet_counts",
        sa.Column("facet", sa.String(16), primary_key=True),
        sa.Column("key", sa.String(80), primary_key=True),
        sa.Column("innovations", sa.Integer(), nullable=False),
    )
    bind = op.get_bind()
    dialect = bind.dialect.name
    for facet, key, source in (
        ("country", "country", "rm_innovations"),
        ("organisation", _uuid_text("organisation_id", dialect), "rm_innovations"),
        ("ecosystem", _uuid_text("ecosystem_id", dialect), "rm_innovations WHERE ecosystem_id IS NOT NULL"),
        ("theme", "theme", "rm_innovation_themes"),
    ):
        bind.exec_driver_sql(
            "INSERT INTO rm_facet_counts (facet, key, innovations) "  # noqa: S608 - names from this list
            f"SELECT '{facet}', {key}, count(*) FROM {source} GROUP BY {key}"
        )


def downgrade() -> None:
    op.drop_table("rm_facet_counts")
