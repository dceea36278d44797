"""Marshmallow schemas: separate input and output shapes; inputs reject unknown fields."""

from __future__ import annotations

import re
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from tracker.audit_chain import GENESIS, HASH_RE, REASONS
from tracker.countries import COUNTRY_NAMES, EU_ALIASES
from tracker.ecosystem import MEMBER_ROLES
from tracker.organisation import ORGANISATION_KINDS
from tracker.rubric import CURRENT_RUBRIC
from tracker.stages import DECISIONS, EVIDENCE_KINDS, STAGES, STATUSES

SHORT = validate.Length(min=1, max=300)
COUNTRY = validate.OneOf(
    sorted([*COUNTRY_NAMES, *EU_ALIASES]),
    error="Must be an ISO 3166-1 alpha-2 code in capitals (EL and UK are accepted).",
)
LONG = validate.Length(min=1, max=5000)
LABEL = validate.Length(min=1, max=80)


MONEY_PATTERN = r"^\d{1,12}(\.\d{1,2})?$"


class Money(fields.Decimal):
    """Euros as a decimal string ("136836.00"); numbers are refused so no float ever rounds a grant."""

    def __init__(self, **kwargs: Any) -> None:
        metadata = {"type": "string", "pattern": MONEY_PATTERN, "example": "136836.00"} | kwargs.pop("metadata", {})
        super().__init__(places=2, as_string=True, metadata=metadata, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, str) or not re.match(MONEY_PATTERN, value):
            raise ValidationError('Must be a decimal string with at most two decimal places, such as "136836.00".')
        return super()._deserialize(value, attr, data, **kwargs)


class StrictBool(fields.Boolean):
    """JSON true or false only (0, 1, "yes" and friends are refused)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


class Input(Schema):
    class Meta:
        unknown = RAISE


# ---- shared output pieces ----------------------------------------------------------------


class ProblemSchema(Schema):
    """RFC 9457 problem details."""

    type = fields.Str(required=True, metadata={"example": "about:blank"})
    title = fields.Str(required=True)
    status = fields.Int(strict=True, required=True)
    detail = fields.Str()
    instance = fields.Str()
    rule = fields.Str(metadata={"description": "The domain rule that refused the command."})
    errors = fields.Dict(keys=fields.Str(), values=fields.List(fields.Str()))
    request_id = fields.Str()


class MpiSchema(Schema):
    value = fields.Float(required=True)
    evaluators = fields.Int(strict=True, required=True)
    spread = fields.Float(required=True)


class PageQuery(Input):
    page = fields.Int(load_default=1, validate=validate.Range(min=1, max=1_000_000))
    page_size = fields.Int(load_default=20, validate=validate.Range(min=1, max=200))


def page_of(item: type[Schema] | Schema) -> type[Schema]:
    item_schema = item if isinstance(item, Schema) else item()
    name = f"{type(item_schema).__name__.removesuffix('Schema')}PageSchema"
    return Schema.from_dict(
        {
            "items": fields.List(fields.Nested(item_schema), required=True),
            "total": fields.Int(strict=True, required=True),
            "page": fields.Int(strict=True, required=True),
            "page_size": fields.Int(strict=True, required=True),
        },
        name=name,
    )


# ---- organisations -----------------------------------------------------------------------


class OrganisationInput(Input):
    name = fields.Str(required=True, validate=SHORT)
    country = fields.Str(required=True, validate=COUNTRY)
    kind = fields.Str(required=True, validate=validate.OneOf(ORGANISATION_KINDS))
    pic = fields.Str(validate=validate.Length(min=1, max=20), allow_none=True)
    oid = fields.Str(validate=validate.Length(min=1, max=20), allow_none=True)
    website = fields.Str(validate=validate.Length(min=1, max=2000), allow_none=True)


class OrganisationSchema(Schema):
    id = fields.UUID(required=True)
    name = fields.Str(required=True)
    country = fields.Str(required=True)
    kind = fields.Str(required=True)
    pic = fields.Str(allow_none=True)
    oid = fields.Str(allow_none=True)
    website = fields.Str(allow_none=True)
    registered_at = fields.AwareDateTime(format="iso")
    version = fields.Int(strict=True, required=True)


class OrganisationQuery(PageQuery):
    country = fields.Str(validate=COUNTRY)
    kind = fields.Str(validate=validate.OneOf(ORGANISATION_KINDS))
    q = fields.Str(validate=validate.Length(min=1, max=200))


# ---- ecosystems --------------------------------------------------------------------------


class MemberInput(Input):
    organisation_id = fields.UUID(required=True)
    role = fields.Str(required=True, validate=validate.OneOf(MEMBER_ROLES))


class EcosystemInput(Input):
    acronym = fields.Str(required=True, validate=validate.Length(min=1, max=80))
    title = fields.Str(required=True, validate=validate.Length(min=1, max=500))
    programme = fields.Str(validate=validate.Length(min=1, max=120), allow_none=True)
    key_action = fields.Str(validate=validate.Length(min=1, max=200), allow_none=True)
    action_type = fields.Str(validate=validate.Length(min=1, max=200), allow_none=True)
    project_identifier = fields.Str(validate=validate.Length(min=1, max=100), allow_none=True)
    call_year = fields.Int(strict=True, validate=validate.Range(min=1987, max=2100), allow_none=True)
    start_date = fields.Date(allow_none=True)
    end_date = fields.Date(allow_none=True)
    eu_grant_eur = Money(allow_none=True)
    is_good_practice = StrictBool(load_default=False)
    is_success_story = StrictBool(load_default=False)
    members = fields.List(fields.Nested(MemberInput), load_default=list, validate=validate.Length(max=2000))


class MemberSchema(Schema):
    organisation_id = fields.UUID(required=True)
    name = fields.Str()
    country = fields.Str()
    role = fields.Str(required=True)
    joined_at = fields.AwareDateTime(format="iso")


class EcosystemSchema(Schema):
    id = fields.UUID(required=True)
    acronym = fields.Str(required=True)
    title = fields.Str(required=True)
    programme = fields.Str(allow_none=True)
    key_action = fields.Str(allow_none=True)
    action_type = fields.Str(allow_none=True)
    project_identifier = fields.Str(allow_none=True)
    call_year = fields.Int(strict=True, allow_none=True)
    start_date = fields.Date(allow_none=True)
    end_date = fields.Date(allow_none=True)
    eu_grant_eur = Money(allow_none=True)
    is_good_practice = fields.Bool()
    is_success_story = fields.Bool()
    member_count = fields.Int(strict=True)
    registered_at = fields.AwareDateTime(format="iso")
    updated_at = fields.AwareDateTime(format="iso")
    version = fields.Int(strict=True, required=True)


class EcosystemDetailSchema(EcosystemSchema):
    members = fields.List(fields.Nested(MemberSchema), required=True)


class EcosystemQuery(PageQuery):
    country = fields.Str(validate=COUNTRY)
    q = fields.Str(validate=validate.Length(min=1, max=200))


# ---- innovations -------------------------------------------------------------------------

Labels = fields.List(fields.Str(validate=LABEL), validate=validate.Length(max=20))


class InnovationInput(Input):
    title = fields.Str(required=True, validate=SHORT)
    summary = fields.Str(required=True, validate=LONG)
    themes = fields.List(fields.Str(validate=LABEL), required=True, validate=validate.Length(min=1, max=20))
    target_groups = fields.List(fields.Str(validate=LABEL), validate=validate.Length(max=20))
    organisation_id = fields.UUID()
    ecosystem_id = fields.UUID(allow_none=True)
    readiness_level = fields.Int(strict=True, validate=validate.Range(min=1, max=9), allow_none=True)


class InnovationPatch(Input):
    title = fields.Str(validate=SHORT)
    summary = fields.Str(validate=LONG)
    themes = fields.List(fields.Str(validate=LABEL), validate=validate.Length(min=1, max=20))
    target_groups = fields.List(fields.Str(validate=LABEL), validate=validate.Length(max=20))
    readiness_level = fields.Int(strict=True, validate=validate.Range(min=1, max=9), allow_none=True)

    @validates_schema
    def not_empty(self, data: dict[str, Any], **_: Any) -> None:
        if not data:
            raise ValidationError("name at least one field to change", "_schema")


class PilotInput(Input):
    site_organisation_id = fields.UUID(required=True)
    started_on = fields.Date(required=True)
    planned_participants = fields.Int(strict=True, validate=validate.Range(min=0, max=1_000_000), allow_none=True)
    description = fields.Str(validate=LONG, allow_none=True)


class OutcomeInput(Input):
    ended_on = fields.Date(required=True)
    participants = fields.Int(strict=True, required=True, validate=validate.Range(min=0, max=1_000_000))
    completion_rate = fields.Float(required=True, validate=validate.Range(min=0, max=1))
    satisfaction = fields.Float(validate=validate.Range(min=0, max=5), allow_none=True)
    notes = fields.Str(validate=LONG, allow_none=True)


class EvidenceInput(Input):
    kind = fields.Str(required=True, validate=validate.OneOf(EVIDENCE_KINDS))
    title = fields.Str(required=True, validate=SHORT)
    url = fields.Str(validate=validate.Length(min=1, max=2000), allow_none=True)
    description = fields.Str(validate=LONG, allow_none=True)


ScoreField = fields.Int(
    strict=True, required=True, allow_none=True, validate=validate.Range(min=0, max=CURRENT_RUBRIC.max_score)
)
ScoresInput = Schema.from_dict({key: ScoreField for key in CURRENT_RUBRIC.keys}, name="ScoresInput")
ScoresInput.Meta.unknown = RAISE  # type: ignore[attr-defined]


class AssessmentInput(Input):
    scores = fields.Nested(ScoresInput, required=True)
    rationale = fields.Str(required=True, validate=LONG)


class DecisionInput(Input):
    decision = fields.Str(required=True, validate=validate.OneOf(DECISIONS))
    rationale = fields.Str(required=True, validate=LONG)
    to_stage = fields.Str(validate=validate.OneOf(STAGES), allow_none=True)


class AdoptionInput(Input):
    organisation_id = fields.UUID(required=True)
    adopted_on = fields.Date(required=True)
    notes = fields.Str(validate=LONG, allow_none=True)


class OutcomeSchema(Schema):
    ended_on = fields.Date()
    participants = fields.Int(strict=True)
    completion_rate = fields.Float()
    satisfaction = fields.Float(allow_none=True)
    notes = fields.Str(allow_none=True)
    recorded_at = fields.AwareDateTime(format="iso")


class PilotSchema(Schema):
    pilot_id = fields.UUID(required=True)
    site_organisation_id = fields.UUID(required=True)
    started_on = fields.Date(required=True)
    planned_participants = fields.Int(strict=True, allow_none=True)
    description = fields.Str(allow_none=True)
    stage = fields.Str()
    outcome = fields.Nested(OutcomeSchema, allow_none=True)


class EvidenceSchema(Schema):
    evidence_id = fields.UUID(required=True)
    kind = fields.Str(required=True)
    title = fields.Str(required=True)
    url = fields.Str(allow_none=True)
    description = fields.Str(allow_none=True)
    stage = fields.Str()
    added_at = fields.AwareDateTime(format="iso")
    added_by = fields.Str()


class AdoptionSchema(Schema):
    adoption_id = fields.UUID(required=True)
    organisation_id = fields.UUID(required=True)
    adopted_on = fields.Date(required=True)
    notes = fields.Str(allow_none=True)
    recorded_at = fields.AwareDateTime(format="iso")


class InnovationSummarySchema(Schema):
    id = fields.UUID(required=True)
    title = fields.Str(required=True)
    summary = fields.Str(required=True)
    themes = fields.List(fields.Str(), required=True)
    target_groups = fields.List(fields.Str())
    organisation_id = fields.UUID(required=True)
    organisation_name = fields.Str()
    country = fields.Str()
    ecosystem_id = fields.UUID(allow_none=True)
    ecosystem_acronym = fields.Str(allow_none=True)
    stage = fields.Str(required=True, validate=validate.OneOf(STAGES))
    status = fields.Str(required=True, validate=validate.OneOf(STATUSES))
    readiness_level = fields.Int(strict=True, allow_none=True)
    mpi = fields.Nested(MpiSchema, allow_none=True, required=True)
    pilots_count = fields.Int(strict=True)
    evidence_count = fields.Int(strict=True)
    assessments_count = fields.Int(strict=True)
    adoptions_count = fields.Int(strict=True)
    submitted_at = fields.AwareDateTime(format="iso", required=True)
    updated_at = fields.AwareDateTime(format="iso", required=True)
    version = fields.Int(strict=True, required=True)


class InnovationDetailSchema(InnovationSummarySchema):
    pilots = fields.List(fields.Nested(PilotSchema), required=True)
    evidence = fields.List(fields.Nested(EvidenceSchema), required=True)
    adoptions = fields.List(fields.Nested(AdoptionSchema), required=True)


class InnovationQuery(PageQuery):
    stage = fields.Str(validate=validate.OneOf(STAGES))
    status = fields.Str(validate=validate.OneOf(STATUSES))
    theme = fields.Str(validate=LABEL)
    country = fields.Str(validate=COUNTRY)
    organisation_id = fields.UUID()
    ecosystem_id = fields.UUID()
    min_mpi = fields.Float(validate=validate.Range(min=0, max=100))
    max_mpi = fields.Float(validate=validate.Range(min=0, max=100))
    q = fields.Str(validate=validate.Length(min=1, max=200))
    sort = fields.Str(
        load_default="-submitted_at", validate=validate.OneOf(["mpi", "-mpi", "submitted_at", "-submitted_at", "title"])
    )
    as_of = fields.AwareDateTime(format="iso")


class DetailQuery(Input):
    as_of = fields.AwareDateTime(format="iso")
    version = fields.Int(validate=validate.Range(min=1, max=2_000_000_000))

    @validates_schema
    def one_of(self, data: dict[str, Any], **_: Any) -> None:
        if "as_of" in data and "version" in data:
            raise ValidationError("give either as_of or version, not both", "as_of")


class WrittenSchema(Schema):
    """What a write returns besides the resource itself."""

    id = fields.UUID(required=True)
    version = fields.Int(strict=True, required=True)
    stage = fields.Str()
    status = fields.Str()


class PilotWrittenSchema(WrittenSchema):
    pilot_id = fields.UUID(required=True)


class EvidenceWrittenSchema(WrittenSchema):
    evidence_id = fields.UUID(required=True)


class AdoptionWrittenSchema(WrittenSchema):
    adoption_id = fields.UUID(required=True)


class AssessmentWrittenSchema(WrittenSchema):
    assessment_id = fields.UUID(required=True)
    mpi = fields.Float(required=True)
    consolidated = fields.Nested(MpiSchema, required=True)


# ---- history and analytics ---------------------------------------------------------------


class ActorSchema(Schema):
    id = fields.Str(required=True)
    role = fields.Str(required=True)


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
    country = fields.Str(validate=COUNTRY)
    theme = fields.Str(validate=LABEL)


class FunnelQuery(ScopeQuery):
    as_of = fields.AwareDateTime(format="iso")


def _counts(keys: tuple[str, ...], name: str) -> type[Schema]:
    return Schema.from_dict({k: fields.Int(strict=True, required=True) for k in keys}, name=name)


class FunnelSchema(Schema):
    as_of = fields.AwareDateTime(format="iso", allow_none=True, required=True)
    stages = fields.Nested(_counts(STAGES, "StageCounts"), required=True)
    statuses = fields.Nested(_counts(STATUSES, "StatusCounts"), required=True)


class DurationSchema(Schema):
    count = fields.Int(strict=True, required=True)
    median_days = fields.Float(allow_none=True, required=True)
    p90_days = fields.Float(allow_none=True, required=True)


class StageDurationsSchema(Schema):
    stages = fields.Dict(keys=fields.Str(), values=fields.Nested(DurationSchema), required=True)


class ScoreGroupsQuery(Input):
    group_by = fields.Str(required=True, validate=validate.OneOf(["theme", "country", "ecosystem", "organisation"]))
    as_of = fields.AwareDateTime(format="iso")


class ScoreGroupSchema(Schema):
    key = fields.Str(required=True)
    label = fields.Str(allow_none=True)
    innovations = fields.Int(
        strict=True, required=True, metadata={"description": "Innovations in the group with a consolidated MPI."}
    )
    mean_mpi = fields.Float(required=True)
    median_mpi = fields.Float(required=True)


class ScoreGroupsSchema(Schema):
    group_by = fields.Str()
    as_of = fields.AwareDateTime(format="iso", allow_none=True)
    items = fields.List(fields.Nested(ScoreGroupSchema), required=True)


class AuditQuery(Input):
    actor = fields.Str(validate=validate.Length(min=1, max=200))
    aggregate_id = fields.UUID()
    event_type = fields.Str(validate=validate.Length(min=1, max=64))
    since = fields.AwareDateTime(format="iso")
    until = fields.AwareDateTime(format="iso")
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
