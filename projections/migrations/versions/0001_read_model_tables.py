"""read model tables

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from alembic import op

PROJECTION_NAMES = ("directory", "portfolio", "audit")


revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rm_assessments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("innovation_id", sa.Uuid(), nullable=False),
        sa.Column("evaluator_id", sa.String(length=200), nullable=False),
        sa.Column("evaluator_organisation_id", sa.Uuid(), nullable=True),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("rubric_version", sa.Integer(), nullable=False),
        sa.Column("scores", sa.JSON(), nullable=False),
        sa.Column("mpi", sa.Float(), nullable=False),
        sa.Column("rationale", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("rm_assessments", schema=None) as batch_op:
        batch_op.create_index("ix_rm_assessments_evaluator", ["evaluator_id"], unique=False)
        batch_op.create_index("ix_rm_assessments_innovation", ["innovation_id", "position"], unique=False)

    op.create_table(
        "rm_audit",
        sa.Column("position", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("aggregate_type", sa.String(length=32), nullable=False),
        sa.Column("aggregate_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("actor_id", sa.String(length=200), nullable=False),
        sa.Column("actor_role", sa.String(length=32), nullable=False),
        sa.Column("correlation_id", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("position"),
    )
    with op.batch_alter_table("rm_audit", schema=None) as batch_op:
        batch_op.create_index("ix_rm_audit_actor", ["actor_id", "position"], unique=False)
        batch_op.create_index("ix_rm_audit_aggregate", ["aggregate_id", "position"], unique=False)
        batch_op.create_index("ix_rm_audit_at", ["at"], unique=False)
        batch_op.create_index("ix_rm_audit_event_type", ["event_type", "position"], unique=False)

    op.create_table(
        "rm_ecosystem_members",
        sa.Column("ecosystem_id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("joined_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("ecosystem_id", "organisation_id", "role"),
    )
    with op.batch_alter_table("rm_ecosystem_members", schema=None) as batch_op:
        batch_op.create_index("ix_rm_ecosystem_members_country", ["country", "ecosystem_id"], unique=False)
        batch_op.create_index("ix_rm_ecosystem_members_organisation", ["organisation_id"], unique=False)

    op.create_table(
        "rm_ecosystems",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("acronym", sa.String(length=80), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("programme", sa.String(length=120), nullable=True),
        sa.Column("key_action", sa.String(length=200), nullable=True),
        sa.Column("action_type", sa.String(length=200), nullable=True),
        sa.Column("project_identifier", sa.String(length=100), nullable=True),
        sa.Column("call_year", sa.Integer(), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("eu_grant_eur", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("is_good_practice", sa.Boolean(), nullable=False),
        sa.Column("is_success_story", sa.Boolean(), nullable=False),
        sa.Column("registered_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("rm_ecosystems", schema=None) as batch_op:
        batch_op.create_index("ix_rm_ecosystems_acronym", ["acronym"], unique=False)
        batch_op.create_index("ix_rm_ecosystems_project_identifier", ["project_identifier"], unique=False)

    op.create_table(
        "rm_innovation_themes",
        sa.Column("innovation_id", sa.Uuid(), nullable=False),
        sa.Column("theme", sa.String(length=80), nullable=False),
        sa.PrimaryKeyConstraint("innovation_id", "theme"),
    )
    with op.batch_alter_table("rm_innovation_themes", schema=None) as batch_op:
        batch_op.create_index("ix_rm_innovation_themes_theme", ["theme", "innovation_id"], unique=False)

    op.create_table(
        "rm_innovations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("themes", sa.JSON(), nullable=False),
        sa.Column("target_groups", sa.JSON(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("organisation_name", sa.String(length=300), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("ecosystem_id", sa.Uuid(), nullable=True),
        sa.Column("ecosystem_acronym", sa.String(length=80), nullable=True),
        sa.Column("readiness_level", sa.Integer(), nullable=True),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("mpi_value", sa.Float(), nullable=True),
        sa.Column("mpi_evaluators", sa.Integer(), nullable=False),
        sa.Column("mpi_spread", sa.Float(), nullable=True),
        sa.Column("evaluator_mpis", sa.JSON(), nullable=False),
        sa.Column("pilots_count", sa.Integer(), nullable=False),
        sa.Column("evidence_count", sa.Integer(), nullable=False),
        sa.Column("assessments_count", sa.Integer(), nullable=False),
        sa.Column("adoptions_count", sa.Integer(), nullable=False),
        sa.Column("pilots", sa.JSON(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("adoptions", sa.JSON(), nullable=False),
        sa.Column("stage_seq", sa.Integer(), nullable=False),
        sa.Column("stage_entered_at", sa.DateTime(), nullable=False),
        sa.Column("status_seq", sa.Integer(), nullable=False),
        sa.Column("score_seq", sa.Integer(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("rm_innovations", schema=None) as batch_op:
        batch_op.create_index("ix_rm_innovations_country", ["country", "submitted_at"], unique=False)
        batch_op.create_index("ix_rm_innovations_ecosystem", ["ecosystem_id"], unique=False)
        batch_op.create_index("ix_rm_innovations_mpi", ["mpi_value"], unique=False)
        batch_op.create_index("ix_rm_innovations_organisation", ["organisation_id"], unique=False)
        batch_op.create_index("ix_rm_innovations_stage", ["stage", "submitted_at"], unique=False)
        batch_op.create_index("ix_rm_innovations_status", ["status", "submitted_at"], unique=False)
        batch_op.create_index("ix_rm_innovations_submitted_at", ["submitted_at"], unique=False)
        batch_op.create_index("ix_rm_innovations_title", ["title"], unique=False)

    op.create_table(
        "rm_organisations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("name_key", sa.String(length=300), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("pic", sa.String(length=20), nullable=True),
        sa.Column("oid", sa.String(length=20), nullable=True),
        sa.Column("website", sa.String(length=2000), nullable=True),
        sa.Column("registered_at", sa.DateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("rm_organisations", schema=None) as batch_op:
        batch_op.create_index("ix_rm_organisations_country", ["country"], unique=False)
        batch_op.create_index("ix_rm_organisations_kind", ["kind"], unique=False)
        batch_op.create_index("ix_rm_organisations_name_key", ["name_key"], unique=False)

    op.create_table(
        "rm_score_history",
        sa.Column("innovation_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("valid_to", sa.DateTime(), nullable=True),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("evaluators", sa.Integer(), nullable=False),
        sa.Column("spread", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("innovation_id", "seq"),
    )
    with op.batch_alter_table("rm_score_history", schema=None) as batch_op:
        batch_op.create_index("ix_rm_score_history_asof", ["at", "valid_to"], unique=False)

    op.create_table(
        "rm_stage_intervals",
        sa.Column("innovation_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("entered_at", sa.DateTime(), nullable=False),
        sa.Column("exited_at", sa.DateTime(), nullable=True),
        sa.Column("duration_days", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("innovation_id", "seq"),
    )
    with op.batch_alter_table("rm_stage_intervals", schema=None) as batch_op:
        batch_op.create_index("ix_rm_stage_intervals_asof", ["entered_at", "exited_at"], unique=False)
        batch_op.create_index("ix_rm_stage_intervals_stage", ["stage", "duration_days"], unique=False)

    op.create_table(
        "rm_status_intervals",
        sa.Column("innovation_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("entered_at", sa.DateTime(), nullable=False),
        sa.Column("exited_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("innovation_id", "seq"),
    )
    with op.batch_alter_table("rm_status_intervals", schema=None) as batch_op:
        batch_op.create_index("ix_rm_status_intervals_asof", ["entered_at", "exited_at"], unique=False)

    op.create_table(
        "rm_tracking",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    tracking = sa.table("rm_tracking", sa.column("name"), sa.column("position"), sa.column("updated_at"))
    op.bulk_insert(tracking, [{"name": n, "position": 0, "updated_at": datetime(2000, 1, 1)} for n in PROJECTION_NAMES])


def downgrade() -> None:
    op.drop_table("rm_tracking")
    with op.batch_alter_table("rm_status_intervals", schema=None) as batch_op:
        batch_op.drop_index("ix_rm_status_intervals_asof")

    op.drop_table("rm_status_intervals")
    with op.batch_alter_table("rm_stage_intervals", schema=None) as batch_op:
        batch_op.drop_index("ix_rm_stage_intervals_stage")
        batch_op.drop_index("ix_rm_stage_intervals_asof")

    op.drop_table("rm_stage_intervals")
    with op.batch_alter_table("rm_score_history", schema=None) as batch_op:
        batch_op.drop_index("ix_rm_score_history_asof")

    op.drop_table("rm_score_history")
    with op.batch_alter_table("rm_organisations", schema=None) as batch_op:
        batch_op.drop_index("ix_rm_organisations_name_key")
        batch_op.drop_index("ix_rm_organisations_kind")
        batch_op.drop_index("ix_rm_organisations_country")

    op.drop_table("rm_organisations")
    with op.batch_alter_table("rm_innovations", schema=None) as batch_op:
        batch_op.drop_index("ix_rm_innovations_title")
        batch_op.drop_index("ix_rm_innovations_submitted_at")
        batch_op.drop_index("ix_rm_innovations_status")
        batch_op.drop_index("ix_rm_innovations_stage")
        batch_op.drop_index("ix_rm_innovations_organisation")
        batch_op.drop_index("ix_rm_innovations_mpi")
        batch_op.drop_index("ix_rm_innovations_ecosystem")
        batch_op.drop_index("ix_rm_innovations_country")

    op.drop_table("rm_innovations")
    with op.batch_alter_table("rm_innovation_themes", schema=None) as batch_op:
        batch_op.drop_index("ix_rm_innovation_themes_theme")

    op.drop_table("rm_innovation_themes")
    with op.batch_alter_table("rm_ecosystems", schema=None) as batch_op:
        batch_op.drop_index("ix_rm_ecosystems_project_identifier")
        batch_op.drop_index("ix_rm_ecosystems_acronym")

    op.drop_table("rm_ecosystems")
    with op.batch_alter_table("rm_ecosystem_members", schema=None) as batch_op:
        batch_op.drop_index("ix_rm_ecosystem_members_organisation")
        batch_op.drop_index("ix_rm_ecosystem_members_country")

    op.drop_table("rm_ecosystem_members")
    with op.batch_alter_table("rm_audit", schema=None) as batch_op:
        batch_op.drop_index("ix_rm_audit_event_type")
        batch_op.drop_index("ix_rm_audit_at")
        batch_op.drop_index("ix_rm_audit_aggregate")
        batch_op.drop_index("ix_rm_audit_actor")

    op.drop_table("rm_audit")
    with op.batch_alter_table("rm_assessments", schema=None) as batch_op:
        batch_op.drop_index("ix_rm_assessments_innovation")
        batch_op.drop_index("ix_rm_assessments_evaluator")

    op.drop_table("rm_assessments")
