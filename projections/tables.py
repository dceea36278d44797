"""The read-model tables (SQLAlchemy Core). Alembic migrations create them; nothing calls create_all."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    Uuid,
)

metadata = MetaData()

# Every time in the read model is naive UTC, so SQLite and PostgreSQL compare them the same way.

tracking = Table(
    "rm_tracking",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("position", BigInteger, nullable=False),
    Column("updated_at", DateTime, nullable=False),
)

organisations = Table(
    "rm_organisations",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("name", String(300), nullable=False),
    Column("name_key", String(300), nullable=False),
    Column("country", String(2), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("pic", String(20)),
    Column("oid", String(20)),
    Column("website", String(2000)),
    Column("registered_at", DateTime, nullable=False),
    Column("version", Integer, nullable=False),
    Index("ix_rm_organisations_country", "country"),
    Index("ix_rm_organisations_kind", "kind"),
    Index("ix_rm_organisations_name_key", "name_key"),
)

ecosystems = Table(
    "rm_ecosystems",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("acronym", String(80), nullable=False),
    Column("title", String(500), nullable=False),
    Column("search_text", Text, nullable=False),
    Column("programme", String(120)),
    Column("key_action", String(200)),
    Column("action_type", String(200)),
    Column("project_identifier", String(100)),
    Column("call_year", Integer),
    Column("start_date", Date),
    Column("end_date", Date),
    Column("eu_grant_eur", Numeric(14, 2)),
    Column("is_good_practice", Boolean, nullable=False),
    Column("is_success_story", Boolean, nullable=False),
    Column("registered_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Column("version", Integer, nullable=False),
    Index("ix_rm_ecosystems_acronym", "acronym"),
    Index("ix_rm_ecosystems_project_identifier", "project_identifier"),
)

ecosystem_members = Table(
    "rm_ecosystem_members",
    metadata,
    Column("ecosystem_id", Uuid, primary_key=True),
    Column("organisation_id", Uuid, primary_key=True),
    Column("role", String(32), primary_key=True),
    Column("country", String(2), nullable=False),
    Column("joined_at", DateTime, nullable=False),
    Index("ix_rm_ecosystem_members_organisation", "organisation_id"),
    Index("ix_rm_ecosystem_members_country", "country", "ecosystem_id"),
)

innovations = Table(
    "rm_innovations",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("title", String(300), nullable=False),
    Column("summary", Text, nullable=False),
    Column("search_text", Text, nullable=False),
    Column("themes", JSON, nullable=False),
    Column("target_groups", JSON, nullable=False),
    Column("organisation_id", Uuid, nullable=False),
    Column("organisation_name", String(300), nullable=False),
    Column("country", String(2), nullable=False),
    Column("ecosystem_id", Uuid),
    Column("ecosystem_acronym", String(80)),
    Column("readiness_level", Integer),
    Column("stage", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("mpi_value", Float),
    Column("mpi_evaluators", Integer, nullable=False),
    Column("mpi_spread", Float),
    Column("evaluator_mpis", JSON, nullable=False),
    Column("pilots_count", Integer, nullable=False),
    Column("evidence_count", Integer, nullable=False),
    Column("assessments_count", Integer, nullable=False),
    Column("adoptions_count", Integer, nullable=False),
    Column("pilots", JSON, nullable=False),
    Column("evidence", JSON, nullable=False),
    Column("adoptions", JSON, nullable=False),
    Column("stage_seq", Integer, nullable=False),
    Column("stage_entered_at", DateTime, nullable=False),
    Column("status_seq", Integer, nullable=False),
    Column("score_seq", Integer, nullable=False),
    Column("submitted_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Column("version", Integer, nullable=False),
    Column("position", BigInteger, nullable=False),
    Index("ix_rm_innovations_stage", "stage", "submitted_at"),
    Index("ix_rm_innovations_status", "status", "submitted_at"),
    Index("ix_rm_innovations_country", "country", "submitted_at"),
    Index("ix_rm_innovations_organisation", "organisation_id", "submitted_at"),
    Index("ix_rm_innovations_ecosystem", "ecosystem_id", "submitted_at"),
    Index("ix_rm_innovations_mpi", "mpi_value"),
    Index("ix_rm_innovations_country_mpi", "country", "mpi_value"),
    Index("ix_rm_innovations_stage_country_mpi", "stage", "country", "mpi_value"),
    Index("ix_rm_innovations_submitted_at", "submitted_at"),
    Index("ix_rm_innovations_title", "title"),
    Index("ix_rm_innovations_ecosystem_acronym", "ecosystem_acronym", "submitted_at"),
    # What a provider sees of a confidential stage: its own organisation's innovations in it.
    Index("ix_rm_innovations_stage_organisation", "stage", "organisation_id"),
)
# List pages sorted by MPI, highest first, in the index's own order (migration 0007; SQLite's descending order
# already puts NULLs last, and it refuses NULLS LAST in an index).
Index(
    "ix_rm_innovations_stage_country_top_mpi",
    innovations.c.stage,
    innovations.c.country,
    innovations.c.mpi_value.desc().nulls_last(),
    innovations.c.id,
)

innovation_themes = Table(
    "rm_innovation_themes",
    metadata,
    Column("innovation_id", Uuid, primary_key=True),
    Column("theme", String(80), primary_key=True),
    # The innovation's, so that the themes' facet as of an instant is counted from this table's index alone.
    Column("submitted_at", DateTime),
    Index("ix_rm_innovation_themes_theme", "theme", "innovation_id"),
    Index("ix_rm_innovation_themes_submitted", "theme", "submitted_at"),
)

stage_intervals = Table(
    "rm_stage_intervals",
    metadata,
    Column("innovation_id", Uuid, primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("stage", String(16), nullable=False),
    Column("entered_at", DateTime, nullable=False),
    Column("exited_at", DateTime),
    Column("duration_days", Float),
    Index("ix_rm_stage_intervals_asof", "entered_at", "exited_at", "stage"),
    Index("ix_rm_stage_intervals_exited", "exited_at", "entered_at", "stage"),
    Index("ix_rm_stage_intervals_stage", "stage", "duration_days"),
    # One stage as of an instant (queries/innovations.py, _narrow_statements).
    Index("ix_rm_stage_intervals_open", "stage", "entered_at", "exited_at", "innovation_id"),
)

status_intervals = Table(
    "rm_status_intervals",
    metadata,
    Column("innovation_id", Uuid, primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("status", String(16), nullable=False),
    Column("entered_at", DateTime, nullable=False),
    Column("exited_at", DateTime),
    Index("ix_rm_status_intervals_asof", "entered_at", "exited_at", "status"),
    Index("ix_rm_status_intervals_exited", "exited_at", "entered_at", "status"),
    Index("ix_rm_status_intervals_open", "status", "entered_at", "exited_at", "innovation_id"),
)

# How many stage (status) intervals were entered and exited on each UTC day, per stage (status): the as-of funnel
# sums the days before an instant's day and counts only that day from the intervals. An interval is counted as
# exited on the day of its exit, which is never before its entry (projections.handlers.no_earlier).
funnel_days = Table(
    "rm_funnel_days",
    metadata,
    Column("dimension", String(8), primary_key=True),
    Column("value", String(16), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("entered", Integer, nullable=False),
    Column("exited", Integer, nullable=False),
    # On SQLite the rows are stored in key order, so summing the days reads no separate index.
    sqlite_with_rowid=False,
)

score_history = Table(
    "rm_score_history",
    metadata,
    Column("innovation_id", Uuid, primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("at", DateTime, nullable=False),
    Column("valid_to", DateTime),
    Column("value", Float, nullable=False),
    Column("evaluators", Integer, nullable=False),
    Column("spread", Float, nullable=False),
    Index("ix_rm_score_history_asof", "at", "valid_to"),
    Index("ix_rm_score_history_ended", "valid_to", "at", "value"),
    Index("ix_rm_score_history_low", "value", "innovation_id", "at", "valid_to"),
)

# The MPIs in either order, ties by id, with the instants to test which held when: a page of the portfolio as of
# an instant sorted by MPI reads one of these until it is full.
Index(
    "ix_rm_score_history_top",
    score_history.c.value.desc(),
    score_history.c.innovation_id,
    score_history.c.at,
    score_history.c.valid_to,
)

# How many rows of the score history began and ended in each month (its first day), per band of ten MPI points (0 for
# 0–10, …, 9 for 90–100): the distribution of the whole portfolio as of an instant sums the months before the
# instant's and reads only that month from the history. A row is counted as ended in the month of its end, which is
# never before its beginning (projections.handlers.no_earlier).
band_months = Table(
    "rm_band_months",
    metadata,
    Column("band", Integer, primary_key=True, autoincrement=False),
    Column("month", Date, primary_key=True),
    Column("entered", Integer, nullable=False),
    Column("exited", Integer, nullable=False),
    sqlite_with_rowid=False,
)

# Score groups (analytics by theme, country, ecosystem or organisation) over the current consolidated MPI, kept as
# running counts so a request reads a few rows per group instead of every scored innovation. Values are integer
# hundredths of an MPI point (MPIs have two decimals), so sums are exact. A group's median is found by walking its
# whole-point buckets to the one or two holding the middle ranks, then the exact values within those buckets: at most
# about 101 + 2 x 100 rows per group, however many innovations it has. Rows whose counts reach zero are deleted.
score_groups = Table(
    "rm_score_groups",
    metadata,
    Column("group_by", String(16), primary_key=True),
    Column("key", String(80), primary_key=True),
    Column("label", String(300)),
    Column("innovations", Integer, nullable=False),
    Column("mpi_hundredths", BigInteger, nullable=False),
)

score_buckets = Table(
    "rm_score_buckets",
    metadata,
    Column("group_by", String(16), primary_key=True),
    Column("key", String(80), primary_key=True),
    Column("bucket", Integer, primary_key=True),
    Column("innovations", Integer, nullable=False),
)

score_values = Table(
    "rm_score_values",
    metadata,
    Column("group_by", String(16), primary_key=True),
    Column("key", String(80), primary_key=True),
    Column("hundredths", Integer, primary_key=True),
    Column("innovations", Integer, nullable=False),
)

# The score groups' changes per month (its first day), per grouping and group: the rows of the score history that
# began and ended in it, and their MPIs' sums in hundredths. A row is counted as ended in the month of its end, which
# is never before its beginning (projections.handlers.no_earlier). The groups over time (queries/series.py) sum
# the months before each point and add what changed exactly at it. Rows whose counts are all back to zero (an
# innovation's history moved to other themes) are deleted.
group_months = Table(
    "rm_group_months",
    metadata,
    Column("group_by", String(16), primary_key=True),
    Column("key", String(80), primary_key=True),
    Column("month", Date, primary_key=True),
    Column("entered", Integer, nullable=False),
    Column("entered_hundredths", BigInteger, nullable=False),
    Column("exited", Integer, nullable=False),
    Column("exited_hundredths", BigInteger, nullable=False),
    sqlite_with_rowid=False,
)

# How many innovations each filter value has (the dashboard's facets for the whole portfolio now): per country,
# theme, ecosystem and organisation (ids as canonical text). Rows whose count reaches zero are deleted.
facet_counts = Table(
    "rm_facet_counts",
    metadata,
    Column("facet", String(16), primary_key=True),
    Column("key", String(80), primary_key=True),
    Column("innovations", Integer, nullable=False),
)

# The same, per month of submission (the month's first day): the facets of the whole portfolio as of an instant sum
# the months before the instant's and count that month's own submissions up to it.
facet_months = Table(
    "rm_facet_months",
    metadata,
    Column("facet", String(16), primary_key=True),
    Column("key", String(80), primary_key=True),
    Column("month", Date, primary_key=True),
    Column("innovations", Integer, nullable=False),
    sqlite_with_rowid=False,
)

assessments = Table(
    "rm_assessments",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("innovation_id", Uuid, nullable=False),
    Column("evaluator_id", String(200), nullable=False),
    Column("evaluator_organisation_id", Uuid),
    Column("stage", String(16), nullable=False),
    Column("rubric_version", Integer, nullable=False),
    Column("scores", JSON, nullable=False),
    Column("comments", JSON, nullable=False),
    Column("mpi", Float, nullable=False),
    Column("rationale", Text, nullable=False),
    Column("recorded_at", DateTime, nullable=False),
    Column("position", BigInteger, nullable=False),
    Index("ix_rm_assessments_innovation", "innovation_id", "position"),
    Index("ix_rm_assessments_evaluator", "evaluator_id", "innovation_id", "stage"),
)

# Evaluators' assignments: one row per evaluator and stage visit (`seq` is the innovation's stage_seq when assigned, so
# an assignment is open while the innovation is still in that visit). Unassigning deletes the row.
assignments = Table(
    "rm_assignments",
    metadata,
    Column("innovation_id", Uuid, primary_key=True),
    Column("evaluator_id", String(200), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("stage", String(16), nullable=False),
    Column("assigned_at", DateTime, nullable=False),
    Column("due_on", Date),
    Column("assessed_at", DateTime),
    Column("assigned_by", String(200), nullable=False),
    Index("ix_rm_assignments_queue", "evaluator_id", "assessed_at", "due_on"),
    Index("ix_rm_assignments_evaluator", "evaluator_id", "innovation_id", "seq"),
)

# Who besides the owner and the roles that read all may see an innovation in a confidential stage: its evaluators
# (assigned at the current stage, or who assessed it), a row each while it is in such a stage. It is the policy's
# grant (access.policy.scope) kept as rows, so that an evaluator's share of a confidential stage counts from an
# index. Kept event by event, and counted again from rm_assignments and rm_assessments after a rebuild
# (projections.counts).
grants = Table(
    "rm_grants",
    metadata,
    Column("evaluator_id", String(200), primary_key=True),
    Column("innovation_id", Uuid, primary_key=True),
    Index("ix_rm_grants_innovation", "innovation_id"),
)

# Deliberation notes, with one level of replies.
notes = Table(
    "rm_notes",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("innovation_id", Uuid, nullable=False),
    Column("stage", String(16), nullable=False),
    Column("author_id", String(200), nullable=False),
    Column("author_role", String(32), nullable=False),
    Column("body", Text, nullable=False),
    Column("reply_to", Uuid),
    Column("written_at", DateTime, nullable=False),
    Column("position", BigInteger, nullable=False),
    Index("ix_rm_notes_innovation", "innovation_id", "position"),
)

audit = Table(
    "rm_audit",
    metadata,
    Column("position", BigInteger, primary_key=True, autoincrement=False),
    Column("at", DateTime, nullable=False),
    Column("aggregate_type", String(32), nullable=False),
    Column("aggregate_id", Uuid, nullable=False),
    Column("version", Integer, nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("actor_id", String(200), nullable=False),
    Column("actor_role", String(32), nullable=False),
    Column("correlation_id", String(200)),
    Index("ix_rm_audit_actor", "actor_id", "position"),
    Index("ix_rm_audit_aggregate", "aggregate_id", "position"),
    Index("ix_rm_audit_event_type", "event_type", "position"),
    Index("ix_rm_audit_at", "at"),
)

# The audit chain: the hash chain's link after each stored event, by log position (see tracker.audit_chain).
audit_chain = Table(
    "rm_audit_chain",
    metadata,
    Column("position", BigInteger, primary_key=True, autoincrement=False),
    Column("hash", String(64), nullable=False),
)

# Work a rebuild puts off until its end (projections.deferred): a row per secondary index it dropped, with the
# statement that builds it again as the database gave it, and a row named "counts" while the running counts are left
# to be counted again. The rebuild touches the rows with every batch; rows left untouched for a while mean that it
# stopped part way, and the next batch of any process finishes the work.
deferred = Table(
    "rm_deferred",
    metadata,
    Column("name", String(128), primary_key=True),
    Column("statement", Text),
    Column("touched_at", DateTime, nullable=False),
)

READ_MODEL_TABLES = (
    organisations,
    ecosystems,
    ecosystem_members,
    innovations,
    innovation_themes,
    stage_intervals,
    status_intervals,
    funnel_days,
    score_history,
    band_months,
    score_groups,
    score_buckets,
    score_values,
    group_months,
    facet_counts,
    facet_months,
    assessments,
    assignments,
    grants,
    notes,
    audit,
    audit_chain,
)
