"""Webhook endpoints, their deliveries, the outbox's e-mails and a person's choice of e-mails."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.schemas.common import Input, StrictBool
from outbox.derive import EMAIL_KINDS
from outbox.endpoints import STATUSES
from outbox.preferences import CHOOSABLE
from tracker import event_types

_TYPES = sorted(event_types.NAMES)
EVENT_TYPES_FIELD = {
    "description": 'Event types to deliver, or ["*"] for every type.',
    "example": ["innovation.advanced", "innovation.discontinued"],
}


class WebhookInput(Input):
    url = fields.Str(
        required=True,
        validate=validate.Length(min=1, max=2000),
        metadata={"description": "https, and not a private, loopback or link-local address (checked after DNS)."},
    )
    event_types = fields.List(
        fields.Str(validate=validate.OneOf([*_TYPES, "*"])),
        required=True,
        validate=validate.Length(min=1, max=len(_TYPES)),
        metadata=EVENT_TYPES_FIELD,
    )
    description = fields.Str(allow_none=True, validate=validate.Length(max=500))


class WebhookPatch(Input):
    url = fields.Str(validate=validate.Length(min=1, max=2000))
    event_types = fields.List(
        fields.Str(validate=validate.OneOf([*_TYPES, "*"])),
        validate=validate.Length(min=1, max=len(_TYPES)),
        metadata=EVENT_TYPES_FIELD,
    )
    description = fields.Str(allow_none=True, validate=validate.Length(max=500))
    active = StrictBool(metadata={"description": "true turns a disabled endpoint back on; its pending deliveries go."})


class WebhookSchema(Schema):
    id = fields.UUID(required=True)
    url = fields.Str(required=True)
    event_types = fields.List(fields.Str(), required=True)
    description = fields.Str(allow_none=True)
    active = fields.Bool(required=True)
    created_at = fields.AwareDateTime(format="iso", required=True)
    disabled_at = fields.AwareDateTime(format="iso", allow_none=True)
    disabled_reason = fields.Str(allow_none=True)
    failing_since = fields.AwareDateTime(format="iso", allow_none=True)


class WebhookSecretSchema(WebhookSchema):
    secret = fields.Str(required=True, metadata={"description": "whsec_…: shown this once."})


class DeliveriesQuery(Input):
    status = fields.Str(validate=validate.OneOf(STATUSES))
    after = fields.Int(validate=validate.Range(min=0, max=2**62), metadata={"description": "A log position."})
    limit = fields.Int(load_default=100, validate=validate.Range(min=1, max=1000))


class AttemptSchema(Schema):
    at = fields.AwareDateTime(format="iso", required=True)
    status_code = fields.Int(allow_none=True, required=True)
    duration_ms = fields.Float(required=True)
    error = fields.Str(allow_none=True, required=True)
    response = fields.Str(allow_none=True, metadata={"description": "The first KB of the answer."})


class DeliverySchema(Schema):
    delivery_id = fields.Int(required=True)
    event_id = fields.UUID(required=True, metadata={"description": "Sent as webhook-id, the same on every attempt."})
    position = fields.Int(required=True)
    type = fields.Str(required=True)
    attempts = fields.List(fields.Nested(AttemptSchema), required=True)
    status = fields.Str(required=True, validate=validate.OneOf(STATUSES))
    next_attempt_at = fields.AwareDateTime(format="iso", allow_none=True, required=True)


class DeliveriesSchema(Schema):
    items = fields.List(fields.Nested(DeliverySchema), required=True)
    next_after = fields.Int(allow_none=True, required=True)


class ReplayInput(Input):
    after = fields.Int(required=True, strict=True, validate=validate.Range(min=0, max=2**62))


class QueuedSchema(Schema):
    queued = fields.Int(required=True)


class EmailsQuery(Input):
    status = fields.Str(validate=validate.OneOf(["pending", "sent", "failed", "skipped"]))
    after = fields.Int(load_default=0, validate=validate.Range(min=0, max=2**62))
    limit = fields.Int(load_default=100, validate=validate.Range(min=1, max=1000))


class EmailSchema(Schema):
    id = fields.Int(required=True)
    kind = fields.Str(required=True, validate=validate.OneOf(EMAIL_KINDS))
    person_id = fields.UUID(required=True)
    about = fields.Dict(required=True)
    status = fields.Str(required=True)
    attempts = fields.Int(required=True)
    created_at = fields.AwareDateTime(format="iso", required=True)
    next_attempt_at = fields.AwareDateTime(format="iso", allow_none=True)
    sent_at = fields.AwareDateTime(format="iso", allow_none=True)
    last_error = fields.Str(allow_none=True)


class EmailsSchema(Schema):
    items = fields.List(fields.Nested(EmailSchema), required=True)
    smtp_configured = fields.Bool(required=True)


class OutboxStatusSchema(Schema):
    deliveries = fields.Dict(keys=fields.Str(), values=fields.Int(), required=True)
    emails = fields.Dict(keys=fields.Str(), values=fields.Int(), required=True)
    oldest_undelivered_seconds = fields.Float(allow_none=True, required=True)
    oldest_unsent_email_seconds = fields.Float(allow_none=True, required=True)
    position = fields.Int(required=True)
    lag = fields.Int(required=True)


EmailChoices = Schema.from_dict(
    {kind: StrictBool(metadata={"description": f"Receive {kind.replace('_', ' ')} e-mails."}) for kind in CHOOSABLE},
    name="EmailChoices",
)


class EmailChoicesInput(EmailChoices, Input):  # type: ignore[misc,valid-type]
    pass
