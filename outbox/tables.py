"""The outbox room's tables: webhook endpoints, deliveries and their attempts, e-mails, people's choices of e-mail,
and how far the outbox has derived from the log.

None of these is a read model: a rebuild of the projections never touches them, so nothing is sent twice because the
read side was rebuilt."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
)

outbox_metadata = MetaData()

# How far the outbox has derived deliveries and e-mails from the log (one row, name "outbox").
outbox_tracking = Table(
    "outbox_tracking",
    outbox_metadata,
    Column("name", String(32), primary_key=True),
    Column("position", BigInteger, nullable=False),
    Column("updated_at", DateTime, nullable=False),
)

webhook_endpoints = Table(
    "webhook_endpoints",
    outbox_metadata,
    Column("id", Uuid, primary_key=True),
    Column("url", String(2000), nullable=False),
    Column("event_types", JSON, nullable=False),  # published names (tracker.event_types), or ["*"]
    Column("description", String(500)),
    Column("active", Boolean, nullable=False),
    Column("secret", String(200), nullable=False),
    # The log's head when the endpoint was made: it receives the events after it (a replay sends earlier ones).
    Column("starts_after", BigInteger, nullable=False),
    # After a rotation, deliveries are signed with the previous secret too until this time.
    Column("previous_secret", String(200)),
    Column("previous_secret_until", DateTime),
    Column("created_at", DateTime, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("updated_at", DateTime, nullable=False),
    # Since when every attempt has failed (None once one succeeds); three days of it disable the endpoint.
    Column("failing_since", DateTime),
    # No attempt to this endpoint before this time (its back-off after a failure, or a receiver's Retry-After).
    Column("paused_until", DateTime),
    Column("disabled_at", DateTime),
    Column("disabled_reason", String(300)),
)

deliveries = Table(
    "webhook_deliveries",
    outbox_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("endpoint_id", Uuid, ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), nullable=False),
    Column("position", BigInteger, nullable=False),
    Column("event_id", Uuid, nullable=False),
    Column("type", String(64), nullable=False),
    Column("status", String(16), nullable=False),  # pending, succeeded, failed
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", DateTime),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    UniqueConstraint("endpoint_id", "position", name="uq_webhook_deliveries_event"),
    Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    Index("ix_webhook_deliveries_endpoint", "endpoint_id", "status", "position"),
)

attempts = Table(
    "webhook_attempts",
    outbox_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("delivery_id", Integer, ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), nullable=False),
    Column("at", DateTime, nullable=False),
    Column("status_code", Integer),
    Column("duration_ms", Float, nullable=False),
    Column("error", String(500)),
    Column("response", Text),  # the first KB of the answer
    Index("ix_webhook_attempts_delivery", "delivery_id", "id"),
)

# E-mails to people. The address is looked up when the message is sent, so an erased person is never written to.
emails = Table(
    "outbox_emails",
    outbox_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),  # evaluator_assigned, gate_decision, invitation, endpoint_disabled
    Column("person_id", Uuid, nullable=False),
    # What it is about (an innovation, a decision, an endpoint); an invitation's token until it is sent.
    Column("context", JSON, nullable=False),
    # What it was derived from (a log position, an invitation, an endpoint's disabling): never derived twice.
    Column("source", String(100), nullable=False),
    Column("status", String(16), nullable=False),  # pending, sent, failed, skipped
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", DateTime),
    Column("last_error", String(500)),
    Column("created_at", DateTime, nullable=False),
    Column("sent_at", DateTime),
    UniqueConstraint("source", "person_id", "kind", name="uq_outbox_emails_source"),
    Index("ix_outbox_emails_due", "status", "next_attempt_at"),
)

# The kinds of e-mail a person has turned off (every kind is on until turned off).
email_opt_outs = Table(
    "email_opt_outs",
    outbox_metadata,
    Column("person_id", Uuid, primary_key=True),
    Column("kind", String(32), primary_key=True),
)
