"""History, analytics, the audit trail and the audit chain: what the API accepts and answers."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from api.schemas.common import LABEL, CountryFilter, Input, Instant
from projections.queries.analytics import GROUPS
from projections.queries.facets import FACETS
from projections.queries.facets import LIMIT_MAX as FACETS_LIMIT_MAX
from projections.queries.series import STEPS
from tracker import event_types, limits
from tracker.audit_chain import GENESIS, HASH_RE, REASONS
from tracker.stages import STAGES, STATUSES

# ---- history and analytics ---------------------------------------------------------------


class ActorSchema(Schema):
    id = fields.Str(required=True, metadata={"description": "The person's id (older events: the key's name)."})
    role = fields.Str(required=True)
    key = fields.Str(allow_none=True, metadata={"description": "The id of the API key used, where one was."})


class HistoryEventSchema(Schema):
    position = fields.Int(strict=True, required=True, allow_none=True)
    version = fields.Int(strict=True, required=True)
    type = fields.Str(required=True)
    at = fields.AwareDateTime(format="iso", required=True)
    actor = fields.Nested(ActorSchema, required=True)
    correlation_id = fields.Str(allow_none=True)
    data = fields.Dict(required=True)


class ScorePointSchema(Schema):
    at = fields.AwareDateTime(format="iso", required=True)
    value = fields.Float(required=True)
    evaluators = fields.Int(strict=True, required=True)
    spread = fields.Float(required=True)


class StageIntervalSchema(Schema):
    stage = fields.Str(required=True)
    entered_at = fields.AwareDateTime(format="iso", required=True)
    exited_at = fields.AwareDateTime(format="iso", required=True, allow_none=True)


class ScopeQuery(Input):
    ecosystem_id = fields.UUID()
    organisation_id = fields.UUID()
    country = CountryFilter()
    theme = fields.Str(validate=LABEL)


class FunnelQuery(ScopeQuery):
    as_of = Instant()


def _counts(keys: tuple[str, ...], name: str) -> type[Schema]:
    return Schema.from_dict({k: fields.Int(strict=True, required=True) for k in keys}, name=name)


StageCounts = _counts(STAGES, "StageCounts")
StatusCounts = _counts(STATUSES, "StatusCounts")


class FunnelSchema(Schema):
    as_of = fields.AwareDateTime(format="iso", allow_none=True, required=True)
    stages = fields.Nested(StageCounts, required=True)
    statuses = fields.Nested(StatusCounts, required=True)


class FacetsQuery(FunnelQuery):
    facet = fields.Str(
        validate=validate.OneOf(FACETS), metadata={"description": "One facet only (a type-ahead's); all by default."}
    )
    q = fields.Str(
        validate=validate.Length(min=1, max=100),
        metadata={"description": "Keep the values whose name contains this (an ecosystem's title and number too)."},
    )
    limit = fields.Int(
        load_default=100,
        validate=validate.Range(min=1, max=FACETS_LIMIT_MAX),
        metadata={"description": "The most values per facet, most innovations first."},
    )


class FacetValueSchema(Schema):
    key = fields.Str(required=True, metadata={"description": "The filter's value: a country code, theme or id."})
    label = fields.Str(required=True)
    innovations = fields.Int(strict=True, required=True)


class FacetSchema(Schema):
    items = fields.List(fields.Nested(FacetValueSchema), required=True)
    total = fields.Int(strict=True, required=True, metadata={"description": "The facet's values in all."})


class FacetsSchema(Schema):
    as_of = fields.AwareDateTime(format="iso", allow_none=True, required=True)
    facets = fields.Dict(
        keys=fields.Str(validate=validate.OneOf(FACETS)),
        values=fields.Nested(FacetSchema),
        required=True,
        metadata={
            "description": "Per facet, the innovations the other filters keep that have each value (a facet's own "
            "filter is left out, so that its other values stay on offer)."
        },
    )


class SpanQuery(Input):
    start = fields.Date(
        data_key="from",
        metadata={"description": "The first day (default: the first submission's); points start on or after it."},
    )
    end = fields.Date(data_key="to", metadata={"description": "The last day (default: today)."})
    step = fields.Str(load_default="month", validate=validate.OneOf(STEPS))

    @validates_schema
    def in_order(self, data: dict[str, Any], **_: Any) -> None:
        if "start" in data and "end" in data and data["start"] > data["end"]:
            raise ValidationError("must not be after 'to'", "from")


class SeriesQuery(ScopeQuery, SpanQuery):
    pass


class ScoreSeriesQuery(SpanQuery):
    group_by = fields.Str(required=True, validate=validate.OneOf(GROUPS))
    top = fields.Int(
        load_default=12,
        validate=validate.Range(min=1, max=100),
        metadata={"description": "How many of the largest groups each point names; the rest are `others`."},
    )


class FunnelPointSchema(Schema):
    at = fields.AwareDateTime(format="iso", required=True)
    stages = fields.Nested(StageCounts, required=True)
    statuses = fields.Nested(StatusCounts, required=True)


class FunnelSeriesSchema(Schema):
    step = fields.Str(required=True)
    points = fields.List(
        fields.Nested(FunnelPointSchema),
        required=True,
        metadata={"description": "The funnel at the first instant of each step (UTC), as /analytics/funnel?as_of=."},
    )


class SeriesGroupSchema(Schema):
    key = fields.Str(required=True, metadata={"description": "A theme, a country code, or an id."})
    label = fields.Str(required=True)
    innovations = fields.Int(strict=True, required=True, metadata={"description": "Scored innovations."})
    mean_mpi = fields.Float(required=True)


class SeriesOthersSchema(Schema):
    groups = fields.Int(strict=True, required=True)
    innovations = fields.Int(strict=True, required=True)
    mean_mpi = fields.Float(required=True, metadata={"description": "The mean of all their MPIs together."})


class ScorePointGroupsSchema(Schema):
    at = fields.AwareDateTime(format="iso", required=True)
    groups = fields.List(
        fields.Nested(SeriesGroupSchema),
        required=True,
        metadata={"description": "The largest groups then (most scored innovations, then by key)."},
    )
    others = fields.Nested(SeriesOthersSchema, allow_none=True, required=True)


class ScoreSeriesSchema(Schema):
    group_by = fields.Str(required=True)
    step = fields.Str(required=True)
    points = fields.List(
        fields.Nested(ScorePointGroupsSchema),
        required=True,
        metadata={
            "description": "The score groups at the first instant of each step (UTC), as "
            "/analytics/scores?as_of=&top= counts them."
        },
    )


class BandSchema(Schema):
    start = fields.Int(strict=True, required=True, data_key="from")
    end = fields.Int(strict=True, required=True, data_key="to")
    innovations = fields.Int(strict=True, required=True)


class DistributionSchema(Schema):
    as_of = fields.AwareDateTime(format="iso", allow_none=True, required=True)
    bands = fields.List(
        fields.Nested(BandSchema),
        required=True,
        metadata={"description": "Scored innovations per ten MPI points; 100 counts in the last band."},
    )


class DurationSchema(Schema):
    count = fields.Int(strict=True, required=True)
    median_days = fields.Float(allow_none=True, required=True)
    p90_days = fields.Float(allow_none=True, required=True)


class StageDurationsSchema(Schema):
    stages = fields.Dict(keys=fields.Str(), values=fields.Nested(DurationSchema), required=True)


class ScoreGroupsQuery(Input):
    group_by = fields.Str(required=True, validate=validate.OneOf(GROUPS))
    as_of = Instant()
    top = fields.Int(
        validate=validate.Range(min=1, max=100),
        metadata={"description": "Also name the largest groups, and give the mean of the rest together."},
    )


class ScoreGroupSchema(Schema):
    key = fields.Str(required=True)
    label = fields.Str(allow_none=True)
    innovations = fields.Int(
        strict=True, required=True, metadata={"description": "Innovations in the group with a consolidated MPI."}
    )
    mean_mpi = fields.Float(required=True)
    median_mpi = fields.Float(required=True)


class OtherGroupsSchema(Schema):
    groups = fields.Int(strict=True, required=True)
    innovations = fields.Int(strict=True, required=True)
    mean_mpi = fields.Float(required=True, metadata={"description": "Of the rest's innovations taken together."})


class ScoreGroupsSchema(Schema):
    group_by = fields.Str()
    as_of = fields.AwareDateTime(format="iso", allow_none=True)
    items = fields.List(fields.Nested(ScoreGroupSchema), required=True)
    largest = fields.List(fields.Str(), metadata={"description": "With `top`: the keys of the largest groups."})
    others = fields.Nested(OtherGroupsSchema, allow_none=True, metadata={"description": "With `top`: the rest."})


class AuditQuery(Input):
    actor = fields.Str(validate=validate.Length(min=1, max=limits.ID_MAX))
    aggregate_id = fields.UUID()
    event_type = fields.Str(
        validate=validate.OneOf(sorted(event_types.NAMES) + sorted(event_types.INDEXED_TYPES)),
        metadata={
            "description": "A published name, as the event feed gives it (innovation.submitted: that aggregate's "
            "event only), or an event's name as the items give it in `type` (Registered: an organisation's or an "
            "ecosystem's)."
        },
    )
    since = Instant()
    until = Instant()
    after = fields.Int(validate=validate.Range(min=0, max=2**62))
    limit = fields.Int(load_default=100, validate=validate.Range(min=1, max=1000))


class AuditItemSchema(Schema):
    position = fields.Int(strict=True, required=True)
    at = fields.AwareDateTime(format="iso", required=True)
    aggregate_type = fields.Str(required=True)
    aggregate_id = fields.UUID(required=True)
    version = fields.Int(strict=True, required=True)
    type = fields.Str(required=True)
    actor = fields.Nested(ActorSchema, required=True)
    correlation_id = fields.Str(allow_none=True)


class AuditPageSchema(Schema):
    items = fields.List(fields.Nested(AuditItemSchema), required=True)
    next_after = fields.Int(strict=True, allow_none=True, required=True)


# ---- audit chain -------------------------------------------------------------------------

HASH_FIELD = {"description": "A link of the audit chain: SHA-256, lower-case hex.", "example": GENESIS}


class AuditHeadSchema(Schema):
    position = fields.Int(
        strict=True, required=True, metadata={"description": "Log position of the chain's last link (0 if empty)."}
    )
    hash = fields.Str(required=True, metadata=HASH_FIELD)


class AuditVerifyQuery(Input):
    position = fields.Int(
        validate=validate.Range(min=0, max=2**62),
        metadata={"description": "Verify up to this log position (default: the chain's head)."},
    )
    hash = fields.Str(
        validate=validate.Regexp(HASH_RE, error="Must be 64 lower-case hexadecimal digits (a SHA-256 hash)."),
        metadata={**HASH_FIELD, "description": "The hash recorded for `position`, e.g. from an earlier head."},
    )

    @validates_schema
    def hash_needs_position(self, data: dict[str, Any], **_: Any) -> None:
        if "hash" in data and "position" not in data:
            raise ValidationError("give the position the hash was recorded at", "position")


class AuditVerificationSchema(Schema):
    ok = fields.Bool(required=True, metadata={"description": "Whether the log still matches, up to `position`."})
    position = fields.Int(strict=True, required=True, metadata={"description": "The position verified up to."})
    hash = fields.Str(
        required=True,
        allow_none=True,
        metadata={**HASH_FIELD, "description": "The chain recomputed from the stored events, at `position`."},
    )
    expected_hash = fields.Str(
        required=True,
        allow_none=True,
        metadata={**HASH_FIELD, "description": "The hash given, else the link recorded at `position`."},
    )
    first_bad_position = fields.Int(
        strict=True,
        required=True,
        allow_none=True,
        metadata={"description": "The first position where the log and the recorded chain disagree."},
    )
    reason = fields.Str(
        required=True,
        allow_none=True,
        validate=validate.OneOf(sorted(REASONS)),
        metadata={"description": "Why the log does not match (null when it does)."},
    )
    detail = fields.Str(required=True)
    checked = fields.Int(strict=True, required=True, metadata={"description": "Stored events recomputed."})
