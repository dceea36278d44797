"""Evaluation rounds: assigning evaluators, the evaluator's queue, deliberation notes and the round's analytics."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask.views import MethodView

from access import policy
from api.auth import principal, require, seen, viewer
from api.errors import ProblemError
from api.http import expected_version, written
from api.resources import (
    EVENT_POSITION_HEADER,
    IF_MATCH,
    MIN_POSITION,
    PROJECTED,
    READ_ERRORS,
    WRITE_ERRORS,
    WRITE_HEADERS,
    ApiBlueprint,
    no_query,
    projected,
)
from api.schemas.evaluation import (
    AssignmentInput,
    AssignmentSchema,
    AssignmentWrittenSchema,
    EvaluationQuery,
    EvaluationSchema,
    NoteInput,
    NoteSchema,
    NoteWrittenSchema,
    QueueQuery,
    QueueSchema,
)
from projections.queries import evaluation as queries
from projections.queries.innovations import visible
from web.observability import request_id
from web.read_connection import read_connection
from web.services import services

blp = ApiBlueprint("evaluation", __name__, url_prefix="/api/v1", description="Evaluation rounds")


def projected_innovation(innovation_id: UUID) -> None:
    """404 unless the read model holds the innovation and the caller may see it."""
    found, _ = visible(read_connection(), innovation_id, policy.scope(viewer()))
    if not found:
        raise ProblemError(404, f"innovation {innovation_id} not found", rule="not_found.innovation")


@blp.route("/innovations/<uuid:innovation_id>/assignments")
class Assignments(MethodView):
    @require("manager", "admin", "analyst")
    @no_query
    @projected
    @blp.response(200, AssignmentSchema(many=True), headers=PROJECTED)
    @blp.errors(404, *READ_ERRORS)
    @blp.doc(parameters=[MIN_POSITION])
    def get(self, innovation_id: UUID) -> Any:
        """The innovation's assignments over all its stages (manager, admin, analyst)."""
        projected_innovation(innovation_id)
        return queries.assignments(read_connection(), innovation_id)

    @require("manager", "admin")
    @blp.arguments(AssignmentInput)
    @blp.response(201, AssignmentWrittenSchema, headers=WRITE_HEADERS)
    @blp.errors(*WRITE_ERRORS)
    @blp.doc(parameters=[IF_MATCH])
    def post(self, data: dict[str, Any], innovation_id: UUID) -> Any:
        """Assign an active evaluator at the innovation's current stage, optionally with a due date.

        Refused with 409 `assignment.conflict_of_interest` when the evaluator's organisation owns the innovation or
        is a member of its ecosystem, and with 409 when the evaluator is already assigned at this stage."""
        person = services().people.get(data["evaluator_id"], read_connection())
        if person is None or not person.active or person.role != "evaluator":
            raise ProblemError(
                422,
                "The request has invalid fields.",
                errors={"evaluator_id": ["Must be the id of an active evaluator."]},
            )
        receipt = services().app.assign_evaluator(
            innovation_id,
            actor=principal().actor(),
            evaluator_id=str(person.id),
            evaluator_organisation_id=person.organisation_id,
            due_on=data.get("due_on"),
            expected_version=expected_version(required=False),
            correlation_id=request_id(),
        )
        assignment = receipt.aggregate.assignments[str(person.id)]
        body = {
            "id": receipt.aggregate_id,
            "version": receipt.version,
            **{k: assignment[k] for k in ("evaluator_id", "stage", "assigned_at", "due_on")},
            "assessed_at": None,
        }
        return written(receipt, body, 201)


@blp.route("/innovations/<uuid:innovation_id>/assignments/<string:evaluator_id>")
class AssignmentItem(MethodView):
    @require("manager", "admin")
    @no_query
    @blp.response(204, headers={"X-Event-Position": EVENT_POSITION_HEADER})
    @blp.errors(*WRITE_ERRORS)
    @blp.doc(parameters=[IF_MATCH])
    def delete(self, innovation_id: UUID, evaluator_id: str) -> Any:
        """End an evaluator's assignment at the current stage; refused with 409 once they assessed at it."""
        receipt = services().app.unassign_evaluator(
            innovation_id,
            evaluator_id,
            actor=principal().actor(),
            expected_version=expected_version(required=False),
            correlation_id=request_id(),
        )
        _, status, headers = written(receipt, {}, 204)
        return "", status, headers


@blp.route("/me/assignments")
class Queue(MethodView):
    @require("evaluator")
    @projected
    @blp.arguments(QueueQuery, location="query")
    @blp.response(200, QueueSchema, headers=PROJECTED)
    @blp.errors(*READ_ERRORS)
    @blp.doc(parameters=[MIN_POSITION])
    def get(self, query: dict[str, Any]) -> Any:
        """The caller's queue: pending (default), done or all assignments, oldest due first."""
        conn, person = read_connection(), str(principal().person_id)
        return {"items": queries.queue(conn, person, query["state"], visible=policy.scope(viewer()).where)}


@blp.route("/innovations/<uuid:innovation_id>/notes")
class Notes(MethodView):
    @require("manager", "admin", "analyst", "evaluator", "provider")
    @no_query
    @projected
    @blp.response(200, NoteSchema(many=True), headers=PROJECTED)
    @blp.errors(404, *READ_ERRORS)
    @blp.doc(parameters=[MIN_POSITION])
    def get(self, innovation_id: UUID) -> Any:
        """The deliberation notes, oldest first: for managers, admins, analysts, and evaluators assigned at the
        current stage once they have assessed at it."""
        inn = seen(innovation_id)
        if not policy.sees_notes(viewer(), inn):
            raise ProblemError(
                403, "Notes are for managers and for evaluators who have assessed at this stage.", rule="note.hidden"
            )
        return queries.notes(read_connection(), innovation_id)

    @require("manager", "admin", "evaluator")
    @blp.arguments(NoteInput)
    @blp.response(201, NoteWrittenSchema, headers=WRITE_HEADERS)
    @blp.errors(*WRITE_ERRORS)
    @blp.doc(parameters=[IF_MATCH])
    def post(self, data: dict[str, Any], innovation_id: UUID) -> Any:
        """Write a note, or reply to one (replies go one level deep). Evaluators write once assigned and assessed at
        the current stage (409 `note.assess_first` before)."""
        receipt = services().app.add_note(
            innovation_id,
            loaded=seen(innovation_id),
            actor=principal().actor(),
            expected_version=expected_version(required=False),
            correlation_id=request_id(),
            **data,
        )
        inn = receipt.aggregate
        body = {"id": inn.id, "version": inn.version, "stage": inn.stage, "status": inn.status}
        return written(receipt, body | {"note_id": receipt.item_id}, 201)


@blp.route("/analytics/evaluation")
class EvaluationAnalytics(MethodView):
    @require("manager", "analyst", "admin")
    @projected
    @blp.arguments(EvaluationQuery, location="query")
    @blp.response(200, EvaluationSchema, headers=PROJECTED)
    @blp.errors(*READ_ERRORS)
    @blp.doc(parameters=[MIN_POSITION])
    def get(self, query: dict[str, Any]) -> Any:
        """Per stage: innovations awaiting assignment, assignments pending, overdue and done, and the median days
        from assignment to assessment."""
        return queries.evaluation(read_connection(), **query)
