"""Evaluation rounds: assignments, the evaluator's queue, deliberation notes and the round's analytics."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.schemas.common import LONG, Day, Input
from api.schemas.innovations import WrittenSchema
from projections.queries.evaluation import QUEUE_STATES
from tracker.stages import STAGES


class AssignmentInput(Input):
    evaluator_id = fields.UUID(required=True, metadata={"description": "The id of an active evaluator."})
    due_on = Day(allow_none=True)


class AssignmentSchema(Schema):
    evaluator_id = fields.Str(required=True)
    stage = fields.Str(required=True)
    assigned_at = fields.AwareDateTime(format="iso", required=True)
    due_on = fields.Date(allow_none=True)
    assessed_at = fields.AwareDateTime(format="iso", allow_none=True)


class QueueQuery(Input):
    state = fields.Str(load_default="pending", validate=validate.OneOf(QUEUE_STATES))


class QueueItemSchema(AssignmentSchema):
    innovation_id = fields.UUID(required=True)
    title = fields.Str(required=True)
    overdue = fields.Bool(required=True)


class QueueSchema(Schema):
    items = fields.List(fields.Nested(QueueItemSchema), required=True)


class NoteInput(Input):
    body = fields.Str(required=True, validate=LONG)
    reply_to = fields.UUID(allow_none=True, metadata={"description": "A first-level note; replies go one deep."})


class NoteSchema(Schema):
    note_id = fields.UUID(required=True)
    author_id = fields.Str(required=True)
    author_role = fields.Str(required=True)
    body = fields.Str(required=True)
    reply_to = fields.UUID(allow_none=True)
    stage = fields.Str(required=True)
    written_at = fields.AwareDateTime(format="iso", required=True)


class NoteWrittenSchema(WrittenSchema):
    note_id = fields.UUID(required=True)


class AssignmentWrittenSchema(AssignmentSchema):
    id = fields.UUID(required=True, metadata={"description": "The innovation."})
    version = fields.Int(strict=True, required=True)


class EvaluationQuery(Input):
    ecosystem_id = fields.UUID()
    stage = fields.Str(validate=validate.OneOf(STAGES[:-1]))


class StageRoundSchema(Schema):
    awaiting_assignment = fields.Int(strict=True, required=True)
    pending = fields.Int(strict=True, required=True)
    overdue = fields.Int(strict=True, required=True)
    done = fields.Int(strict=True, required=True)
    median_days = fields.Float(allow_none=True, metadata={"description": "From assignment to assessment."})


class EvaluationSchema(Schema):
    stages = fields.Dict(keys=fields.Str(), values=fields.Nested(StageRoundSchema), required=True)
