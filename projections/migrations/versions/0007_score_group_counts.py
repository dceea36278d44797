"""running counts for score groups: per group a total, and counts per whole MPI point and per exact value

Revision ID: 0007
Revises: 0005
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Score groups ranked every scored innovation per request (a p95 of 0.5 s by country over 100,000 innovations);
    # with these counts a request reads a total and at most a few hundred count rows per group.
    op.create_table(
        "rm_score_groups",
        sa.Column("group_by", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("label", sa.String(length=300), nullable=True),
        sa.Column("innovations", sa.Integer(), nullable=False),
        sa.Column("mpi_hundredths", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("group_by", "key"),
    )
    op.create_table(
        "rm_score_buckets",
        sa.Column("group_by", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("bucket", sa.Integer(), nullable=False),
        sa.Column("innovations", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("group_by", "key", "bucket"),
    )
    op.create_table(
        "rm_score_values",
        sa.Column("group_by", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("hundredths", sa.Integer(), nullable=False),
        sa.Column("innovations", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("group_by", "key", "hundredths"),
    )
    backfill(op.get_bind().dialect.name)


def uuid_text(column: str, dialect: str) -> str:
    """A UUID column as its canonical text (SQLAlchemy keeps UUIDs on SQLite as 32 hex digits)."""
    if dialect == "postgresql":
        return f"CAST({column} AS TEXT)"
    parts = [(1, 8), (9, 4), (13, 4), (17, 4), (21, 12)]
    return "lower(" + " || '-' || ".join(f"substr({column}, {start}, {length})" for start, length in parts) + ")"


def backfill(dialect: str) -> None:
    """Count every scored innovation into its groups, as the projection does event by event."""
    hundredths = "CAST(round(i.mpi_value * 100) AS INTEGER)"
    groupings = {
        "country": ("rm_innovations i", "i.country", "i.country"),
        "theme": (
            "rm_innovations i JOIN rm_innovation_themes th ON th.innovation_id = i.id",
            "th.theme",
            "th.theme",
        ),
        "ecosystem": ("rm_innovations i", uuid_text("i.ecosystem_id", dialect), "i.ecosystem_acronym"),
        "organisation": ("rm_innovations i", uuid_text("i.organisation_id", dialect), "i.organisation_name"),
    }
    for group_by, (source, key, label) in groupings.items():
        scored = f"FROM {source} WHERE i.mpi_value IS NOT NULL"
        if group_by == "ecosystem":
            scored += " AND i.ecosystem_id IS NOT NULL"
        op.execute(
            "INSERT INTO rm_score_groups (group_by, key, label, innovations, mpi_hundredths) "
            f"SELECT '{group_by}', {key}, min({label}), count(*), sum({hundredths}) {scored} GROUP BY {key}"
        )
        op.execute(
            "INSERT INTO rm_score_buckets (group_by, key, bucket, innovations) "
            f"SELECT '{group_by}', {key}, {hundredths} / 100, count(*) {scored} GROUP BY {key}, {hundredths} / 100"
        )
        op.execute(
            "INSERT INTO rm_score_values (group_by, key, hundredths, innovations) "
            f"SELECT '{group_by}', {key}, {hundredths}, count(*) {scored} GROUP BY {key}, {hundredths}"
        )


def downgrade() -> None:
    op.drop_table("rm_score_values")
    op.drop_table("rm_score_buckets")
    op.drop_table("rm_score_groups")
