"""outbox: webhook endpoints, their deliveries and attempts, e-mails to people, people's choices of e-mail, and how
far the outbox has derived from the log

The outbox starts at the log's current end: events stored before it existed are not sent (an endpoint's replay
sends them on request).

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-06
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    tracking = op.create_table(
        "outbox_tracking",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "webhook_endpoints",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("event_types", sa.JSON(), nullable=False),
        sa.Column("description", sa.String(500)),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("secret", sa.String(200), nullable=False),
        sa.Column("starts_after", sa.BigInteger(), nullable=False),
        sa.Column("previous_secret", sa.String(200)),
        sa.Column("previous_secret_until", sa.DateTime()),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("failing_since", sa.DateTime()),
        sa.Column("paused_until", sa.DateTime()),
        sa.Column("disabled_at", sa.DateTime()),
        sa.Column("disabled_reason", sa.String(300)),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("endpoint_id", sa.Uuid(), sa.ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime()),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("endpoint_id", "position", name="uq_webhook_deliveries_event"),
    )
    op.create_index("ix_webhook_deliveries_due", "webhook_deliveries", ["status", "next_attempt_at"])
    op.create_index("ix_webhook_deliveries_endpoint", "webhook_deliveries", ["endpoint_id", "status", "position"])
    op.create_table(
        "webhook_attempts",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "delivery_id", sa.Integer(), sa.ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("status_code", sa.Integer()),
        sa.Column("duration_ms", sa.Float(), nullable=False),
        sa.Column("error", sa.String(500)),
        sa.Column("response", sa.Text()),
    )
    op.create_index("ix_webhook_attempts_delivery", "webhook_attempts", ["delivery_id", "id"])
    op.create_table(
        "outbox_emails",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("context", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(100), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime()),
        sa.Column("last_error", sa.String(500)),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime()),
        sa.UniqueConstraint("source", "person_id", "kind", name="uq_outbox_emails_source"),
    )
    op.create_index("ix_outbox_emails_due", "outbox_emails", ["status", "next_attempt_at"])
    op.create_table(
        "email_opt_outs",
        sa.Column("person_id", sa.Uuid(), primary_key=True),
        sa.Column("kind", sa.String(32), primary_key=True),
    )
    bind = op.get_bind()
    # The event store's table may not exist yet (a store whose first event is still to come).
    table, column = (
        ("stored_events", "rowid") if bind.dialect.name == "sqlite" else ("tracker_events", "notification_id")
    )
    head = 0
    if sa.inspect(bind).has_table(table):
        head = bind.execute(sa.text(f"SELECT COALESCE(MAX({column}), 0) FROM {table}")).scalar() or 0  # noqa: S608
    op.bulk_insert(
        tracking, [{"name": "outbox", "position": head, "updated_at": datetime.now(UTC).replace(tzinfo=None)}]
    )


def downgrade() -> None:
    for table in (
        "email_opt_outs",
        "outbox_emails",
        "webhook_attempts",
        "webhook_deliveries",
        "webhook_endpoints",
        "outbox_tracking",
    ):
        op.drop_table(table)
