"""Innovations: submissions, revisions, pilots, evidence, assessments, decisions, adoptions, and their answers."""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from api.schemas.common import (
    LABEL,
    LONG,
    SEARCH,
    SHORT,
    URL,
    CountryFilter,
    Day,
    Input,
    Instant,
    MpiSchema,
    PageQuery,
    within,
)
from projections.queries.innovations import SORTS
from tracker import limits
from tracker.rubric import CURRENT_RUBRIC
from tracker.stages import DECISIONS, EVIDENCE_KINDS, STAGES, STATUSES

# ---- innovations -------------------------------------------------------------------------


class InnovationInput(Input):
    title = fields.Str(required=True, validate=SHORT)
    summary = fields.Str(required=True, validate=LONG)
    themes = fields.List(
        fields.Str(validate=LABEL), required=True, validate=validate.Length(min=1, max=limits.LABELS_MAX)
    )
    target_groups = fields.List(fields.Str(validate=LABEL), validate=validate.Length(max=limits.LABELS_MAX))
    organisation_id = fields.UUID()
    ecosystem_id = fields.UUID(
        allow_none=True,
        metadata={"description": "One the owning organisation is a member of (else 422: ecosystem.not_member)."},
    )
    readiness_level = fields.Int(strict=True, validate=within(limits.READINESS), allow_none=True)


class InnovationPatch(Input):
    title = fields.Str(validate=SHORT)
    summary = fields.Str(validate=LONG)
    themes = fields.List(fields.Str(validate=LABEL), validate=validate.Length(min=1, max=limits.LABELS_MAX))
    target_groups = fields.List(fields.Str(validate=LABEL), validate=validate.Length(max=limits.LABELS_MAX))
    readiness_level = fields.Int(strict=True, validate=within(limits.READINESS), allow_none=True)

    @validates_schema
    def not_empty(self, data: dict[str, Any], **_: Any) -> None:
        if not data:
            raise ValidationError("name at least one field to change", "_schema")


class PilotInput(Input):
    site_organisation_id = fields.UUID(required=True)
    started_on = Day(required=True)
    planned_participants = fields.Int(strict=True, validate=within(limits.PARTICIPANTS), allow_none=True)
    description = fields.Str(validate=LONG, allow_none=True)


class OutcomeInput(Input):
    ended_on = Day(required=True)
    participants = fields.Int(strict=True, required=True, validate=within(limits.PARTICIPANTS))
    completion_rate = fields.Float(required=True, validate=within(limits.COMPLETION_RATE))
    satisfaction = fields.Float(validate=within(limits.SATISFACTION), allow_none=True)
    notes = fields.Str(validate=LONG, allow_none=True)


class EvidenceInput(Input):
    kind = fields.Str(required=True, validate=validate.OneOf(EVIDENCE_KINDS))
    title = fields.Str(required=True, validate=SHORT)
    url = fields.Str(validate=URL, allow_none=True)
    description = fields.Str(validate=LONG, allow_none=True)


ScoreField = fields.Int(
    strict=True, required=True, allow_none=True, validate=validate.Range(min=0, max=CURRENT_RUBRIC.max_score)
)
ScoresInput = Schema.from_dict({key: ScoreField for key in CURRENT_RUBRIC.keys}, name="ScoresInput")
ScoresInput.Meta.unknown = RAISE  # type: ignore[attr-defined]


CommentsInput = Schema.from_dict(
    {
        key: fields.Str(validate=validate.Length(min=1, max=limits.COMMENT_MAX), allow_none=True)
        for key in CURRENT_RUBRIC.keys
    },
    name="CommentsInput",
)
CommentsInput.Meta.unknown = RAISE  # type: ignore[attr-defined]


class AssessmentInput(Input):
    scores = fields.Nested(
        ScoresInput,
        required=True,
        metadata={
            "description": "0-4 or null (not assessable); the assessable criteria carry at least 60% of the weight."
        },
    )
    comments = fields.Nested(CommentsInput, metadata={"description": "An optional comment per criterion."})
    rationale = fields.Str(required=True, validate=LONG)


class DecisionInput(Input):
    decision = fields.Str(required=True, validate=validate.OneOf(DECISIONS))
    rationale = fields.Str(required=True, validate=LONG)
    to_stage = fields.Str(validate=validate.OneOf(STAGES), allow_none=True)


class AdoptionInput(Input):
    organisation_id = fields.UUID(required=True)
    adopted_on = Day(required=True)
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
    country = CountryFilter()
    organisation_id = fields.UUID()
    ecosystem_id = fields.UUID()
    min_mpi = fields.Float(validate=validate.Range(min=0, max=100))
    max_mpi = fields.Float(validate=validate.Range(min=0, max=100))
    q = fields.Str(validate=SEARCH)
    sort = fields.Str(load_default="-submitted_at", validate=validate.OneOf(SORTS))
    as_of = Instant()


class DetailQuery(Input):
    as_of = Instant()
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
