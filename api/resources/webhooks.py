"""Webhooks and the outbox: endpoints (admin), their delivery log, redelivery and replay; the outbox's e-mails and
state; and each person's choice of e-mails."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask.views import MethodView

from api.auth import principal, require
from api.errors import ProblemError
from api.resources import READ_ERRORS, WRITE_ERRORS, ApiBlueprint, no_query
from api.schemas.webhooks import (
    DeliveriesQuery,
    DeliveriesSchema,
    EmailChoices,
    EmailChoicesInput,
    EmailsQuery,
    EmailsSchema,
    OutboxStatusSchema,
    QueuedSchema,
    ReplayInput,
    WebhookInput,
    WebhookPatch,
    WebhookSchema,
    WebhookSecretSchema,
)
from outbox.preferences import KINDS_FOR_ROLE
from outbox.service import Outbox
from tracker.actors import PERSON_ROLES
from web.services import services

blp = ApiBlueprint("webhooks", __name__, url_prefix="/api/v1", description="Webhooks, the outbox and e-mail choices")


def _outbox() -> Outbox:
    outbox = services().outbox
    if outbox is None:
        raise ProblemError(503, "the outbox is not running in this process", headers={"Retry-After": "5"})
    return outbox


@blp.route("/webhooks")
class Webhooks(MethodView):
    @require("admin")
    @no_query
    @blp.response(200, WebhookSchema(many=True))
    @blp.errors(*READ_ERRORS)
    def get(self) -> Any:
        """Every webhook endpoint, oldest first (admin). Secrets are never shown again."""
        return [e.as_dict() for e in _outbox().endpoints.list()]

    @require("admin")
    @blp.arguments(WebhookInput)
    @blp.response(201, WebhookSecretSchema, headers={"Location": {"schema": {"type": "string"}}})
    @blp.errors(*WRITE_ERRORS)
    def post(self, data: dict[str, Any]) -> Any:
        """Add an endpoint (admin): it receives the matching events stored from now on. The secret is shown once."""
        endpoint, secret = _outbox().endpoints.create(
            url=data["url"],
            event_types=data["event_types"],
            description=data.get("description"),
            actor_id=principal().actor().id,
        )
        return endpoint.as_dict() | {"secret": secret}, 201, {"Location": f"/api/v1/webhooks/{endpoint.id}"}


@blp.route("/webhooks/<uuid:webhook_id>")
class WebhookItem(MethodView):
    @require("admin")
    @no_query
    @blp.response(200, WebhookSchema)
    @blp.errors(404, *READ_ERRORS)
    def get(self, webhook_id: UUID) -> Any:
        """One endpoint (admin)."""
        return _outbox().endpoints.require(webhook_id).as_dict()

    @require("admin")
    @blp.arguments(WebhookPatch)
    @blp.response(200, WebhookSchema)
    @blp.errors(*WRITE_ERRORS)
    def patch(self, data: dict[str, Any], webhook_id: UUID) -> Any:
        """Change an endpoint's url, event types, description or active flag (admin)."""
        return _outbox().endpoints.update(webhook_id, data).as_dict()

    @require("admin")
    @no_query
    @blp.response(204)
    @blp.errors(*WRITE_ERRORS)
    def delete(self, webhook_id: UUID) -> Any:
        """Remove an endpoint and its delivery log (admin)."""
        _outbox().endpoints.delete(webhook_id)
        return "", 204


@blp.route("/webhooks/<uuid:webhook_id>/rotate-secret")
class RotateSecret(MethodView):
    @require("admin")
    @no_query
    @blp.response(200, WebhookSecretSchema)
    @blp.errors(*WRITE_ERRORS)
    def post(self, webhook_id: UUID) -> Any:
        """A new secret (admin), shown once; for 24 hours deliveries carry signatures with both."""
        endpoint, secret = _outbox().endpoints.rotate(webhook_id)
        return endpoint.as_dict() | {"secret": secret}


@blp.route("/webhooks/<uuid:webhook_id>/deliveries")
class Deliveries(MethodView):
    @require("admin")
    @blp.arguments(DeliveriesQuery, location="query")
    @blp.response(200, DeliveriesSchema)
    @blp.errors(404, *READ_ERRORS)
    def get(self, query: dict[str, Any], webhook_id: UUID) -> Any:
        """The endpoint's deliveries by log position, each with every attempt (admin)."""
        return _outbox().endpoints.deliveries(webhook_id, **query)


@blp.route("/webhooks/<uuid:webhook_id>/deliveries/<int(max=9223372036854775807):delivery_id>/redeliver")
class Redeliver(MethodView):
    @require("admin")
    @no_query
    @blp.response(202, QueuedSchema)
    @blp.errors(*WRITE_ERRORS)
    def post(self, webhook_id: UUID, delivery_id: int) -> Any:
        """Send one delivery again, now, with the same webhook-id (admin)."""
        outbox = _outbox()
        outbox.endpoints.redeliver(webhook_id, delivery_id)
        outbox.wake()
        return {"queued": 1}, 202


@blp.route("/webhooks/<uuid:webhook_id>/replay")
class Replay(MethodView):
    @require("admin")
    @blp.arguments(ReplayInput)
    @blp.response(202, QueuedSchema)
    @blp.errors(*WRITE_ERRORS)
    def post(self, data: dict[str, Any], webhook_id: UUID) -> Any:
        """Queue every matching event after a log position again (admin); each keeps its webhook-id."""
        outbox = _outbox()
        queued = outbox.endpoints.replay(webhook_id, data["after"], services().app.read_log)
        outbox.wake()
        return {"queued": queued}, 202


@blp.route("/outbox")
class OutboxStatus(MethodView):
    @require("admin")
    @no_query
    @blp.response(200, OutboxStatusSchema)
    @blp.errors(*READ_ERRORS)
    def get(self) -> Any:
        """Deliveries and e-mails by status, the oldest undelivered age, and the outbox's lag behind the log (admin)."""
        return _outbox().stats()


@blp.route("/outbox/emails")
class OutboxEmails(MethodView):
    @require("admin")
    @blp.arguments(EmailsQuery, location="query")
    @blp.response(200, EmailsSchema)
    @blp.errors(*READ_ERRORS)
    def get(self, query: dict[str, Any]) -> Any:
        """The e-mails in the outbox, oldest first (admin). Without TRACKER_SMTP_URL they wait here, never lost."""
        return {"items": _outbox().emails(**query), "smtp_configured": services().settings.smtp_url is not None}


@blp.route("/me/email-preferences")
class EmailPreferences(MethodView):
    @require(*PERSON_ROLES)
    @no_query
    @blp.response(200, EmailChoices)
    @blp.errors(*READ_ERRORS)
    def get(self) -> Any:
        """Which of the e-mails their role is sent the caller receives (invitations are always sent)."""
        kinds = KINDS_FOR_ROLE.get(principal().role, ())
        return {kind: on for kind, on in _outbox().preferences.of(_me()).items() if kind in kinds}

    @require(*PERSON_ROLES)
    @blp.arguments(EmailChoicesInput)
    @blp.response(200, EmailChoices)
    @blp.errors(*WRITE_ERRORS)
    def put(self, data: dict[str, bool]) -> Any:
        """Turn kinds of e-mail their role is sent on or off for the caller; kinds not named stay as they are."""
        role = principal().role
        kinds = KINDS_FOR_ROLE.get(role, ())
        others = sorted(set(data) - set(kinds))
        if others:
            theirs = ", ".join(kinds) or "none"
            raise ProblemError(
                422,
                f"The role {role} is sent no {', '.join(others)} e-mails; the kinds it is sent: {theirs}.",
                errors={kind: ["Not a kind of e-mail this role is sent."] for kind in others},
            )
        chosen = _outbox().preferences.set(_me(), data)
        return {kind: on for kind, on in chosen.items() if kind in kinds}


def _me() -> UUID:
    return principal().person_id
