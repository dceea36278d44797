"""Innovations: submission, details, pilots, evidence, assessments, gate decisions and adoptions."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from uuid import UUID

from flask.views import MethodView

from access import policy
from api.auth import READERS, ensure_owner, principal, require, seen, viewer
from api.csv_export import list_cell, stream_rows, text_cell
from api.errors import ProblemError
from api.http import etag, expected_version, wait_for_projections, written
from api.resources import (
    CREATED_HEADERS,
    IF_MATCH,
    MIN_POSITION,
    POSITION_HEADER,
    READ_ERRORS,
    VERSION_HEADER,
    WRITE_ERRORS,
    WRITE_HEADERS,
    ApiBlueprint,
    projected,
    wants_csv,
)
from api.schemas.common import page_of
from api.schemas.innovations import (
    AdoptionInput,
    AdoptionWrittenSchema,
    AssessmentInput,
    AssessmentWrittenSchema,
    DecisionInput,
    DetailQuery,
    EvidenceInput,
    EvidenceWrittenSchema,
    InnovationDetailSchema,
    InnovationInput,
    InnovationPatch,
    InnovationQuery,
    InnovationSummarySchema,
    OutcomeInput,
    PilotInput,
    PilotWrittenSchema,
    WrittenSchema,
)
from projections.queries import innovations as queries
from tracker.application import Receipt
from tracker.innovation import Innovation
from web.observability import request_id
from web.read_connection import read_connection
from web.services import services

blp = ApiBlueprint("innovations", __name__, url_prefix="/api/v1", description="Innovations and their lifecycle")

# How each column of queries.EXPORT_COLUMNS is written: text a caller wrote is neutralised; numbers the application
# computed, ids and instants go as they are.
CSV_FORMATS: dict[str, Callable[[Any], Any]] = {
    "title": text_cell,
    "stage": text_cell,
    "status": text_cell,
    "themes": list_cell,
    "target_groups": list_cell,
    "organisation_name": text_cell,
    "country": text_cell,
    "ecosystem_acronym": text_cell,
}


def innovation_body(inn: Innovation) -> dict[str, Any]:
    """The detail of an innovation replayed from its events (writes, as_of and version reads)."""
    return queries.detail(inn.summary_fields())


def state(receipt: Receipt) -> dict[str, Any]:
    inn = receipt.aggregate
    return {"id": inn.id, "version": inn.version, "stage": inn.stage, "status": inn.status}


def owned(innovation_id: UUID) -> Innovation:
    """Load the innovation and check the caller may change it as its owner."""
    inn = seen(innovation_id)
    ensure_owner(inn.organisation_id)
    return inn


@blp.route("/innovations")
class Innovations(MethodView):
    @require(*READERS)
    @projected
    @blp.arguments(InnovationQuery, location="query")
    @blp.response(200, page_of(InnovationSummarySchema), headers={"X-Projection-Position": POSITION_HEADER})
    @blp.csv_too("innovation")
    @blp.errors(*READ_ERRORS)
    @blp.doc(parameters=[MIN_POSITION])
    def get(self, query: dict[str, Any]) -> Any:
        """List innovations: filters, sorting, paging, text search, and `as_of` for the portfolio at an instant."""
        page, page_size, sort = query.pop("page"), query.pop("page_size"), query.pop("sort")
        filters = queries.InnovationFilter(**query)
        scope = policy.scope(viewer())
        if wants_csv():
            engine = services().read_model.reader  # a streaming cursor, in a transaction of its own

            def rows() -> Iterator[list[Any]]:
                with engine.connect() as conn:
                    yield from queries.iter_innovations(conn, filters, sort=sort, scope=scope)

            formats = [CSV_FORMATS.get(column) for column in queries.EXPORT_COLUMNS]
            return stream_rows(queries.EXPORT_COLUMNS, rows(), formats=formats, filename="innovations.csv")
        page_of_rows = queries.list_innovations(
            read_connection(), filters, sort=sort, page=page, page_size=page_size, scope=scope
        )
        return page_of_rows.__dict__

    @require("provider", "admin")
    @blp.arguments(InnovationInput)
    @blp.response(201, InnovationDetailSchema, headers=CREATED_HEADERS)
    @blp.errors(*WRITE_ERRORS)
    def post(self, data: dict[str, Any]) -> Any:
        """Submit an innovation (provider for its own organisation, or admin naming one)."""
        who = principal()
        if who.role == "provider":
            if data.setdefault("organisation_id", who.organisation_id) != who.organisation_id:
                raise ProblemError(
                    403, "A provider submits innovations for its own organisation only.", rule="ownership"
                )
        elif "organisation_id" not in data:
            raise ProblemError(
                422,
                "An admin must name the owning organisation.",
                errors={"organisation_id": ["Missing data for required field."]},
            )
        receipt = services().app.submit_innovation(actor=who.actor(), correlation_id=request_id(), **data)
        return written(receipt, innovation_body(receipt.aggregate), 201, f"/api/v1/innovations/{receipt.aggregate_id}")


@blp.route("/innovations/<uuid:innovation_id>")
class InnovationItem(MethodView):
    @require(*READERS)
    @blp.arguments(DetailQuery, location="query")
    @blp.response(
        200,
        InnovationDetailSchema,
        headers={"ETag": VERSION_HEADER, "X-Projection-Position": POSITION_HEADER},
    )
    @blp.errors(404, *READ_ERRORS)
    @blp.doc(parameters=[MIN_POSITION])
    def get(self, query: dict[str, Any], innovation_id: UUID) -> Any:
        """One innovation; with `as_of` or `version`, replayed from its events to that point."""
        if query:
            current = seen(innovation_id)
            inn = services().app.get_innovation(innovation_id, version=query.get("version"), as_of=query.get("as_of"))
            if not policy.sees_innovation(viewer(), current, stage=inn.stage):
                raise ProblemError(404, f"innovation {innovation_id} not found", rule="not_found.innovation")
            body = innovation_body(inn)
            if policy.mpi_hidden(viewer(), current):
                body["mpi"] = None
            return body, 200, {"ETag": etag(inn.version)}
        position = wait_for_projections()
        found = queries.get_innovation(read_connection(), innovation_id, policy.scope(viewer()))
        if found is None:
            raise ProblemError(404, f"innovation {innovation_id} not found", rule="not_found.innovation")
        return found, 200, {"ETag": etag(found["version"]), "X-Projection-Position": str(position)}

    @require("provider", "admin")
    @blp.arguments(InnovationPatch)
    @blp.response(200, InnovationDetailSchema, headers=WRITE_HEADERS)
    @blp.errors(*WRITE_ERRORS, 428)
    @blp.doc(parameters=[{**IF_MATCH, "required": True}])
    def patch(self, data: dict[str, Any], innovation_id: UUID) -> Any:
        """Revise title, summary, themes, target groups or readiness level (owner or admin; If-Match required)."""
        owned(innovation_id)
        version = expected_version(required=True)
        receipt = services().app.revise_innovation(
            innovation_id, data, actor=principal().actor(), expected_version=version, correlation_id=request_id()
        )
        return written(receipt, innovation_body(receipt.aggregate))


@blp.route("/innovations/<uuid:innovation_id>/pilots")
class Pilots(MethodView):
    @require("provider", "admin")
    @blp.arguments(PilotInput)
    @blp.response(201, PilotWrittenSchema, headers=WRITE_HEADERS)
    @blp.errors(*WRITE_ERRORS)
    @blp.doc(parameters=[IF_MATCH])
    def post(self, data: dict[str, Any], innovation_id: UUID) -> Any:
        """Start a pilot at a site organisation (owner or admin)."""
        owned(innovation_id)
        version = expected_version(required=False)
        receipt = services().app.start_pilot(
            innovation_id, actor=principal().actor(), expected_version=version, correlation_id=request_id(), **data
        )
        return written(receipt, state(receipt) | {"pilot_id": receipt.item_id}, 201)


@blp.route("/innovations/<uuid:innovation_id>/pilots/<uuid:pilot_id>/outcome")
class PilotOutcome(MethodView):
    @require("provider", "admin")
    @blp.arguments(OutcomeInput)
    @blp.response(201, PilotWrittenSchema, headers=WRITE_HEADERS)
    @blp.errors(*WRITE_ERRORS)
    @blp.doc(parameters=[IF_MATCH])
    def post(self, data: dict[str, Any], innovation_id: UUID, pilot_id: UUID) -> Any:
        """Record a pilot's outcome (owner or admin)."""
        owned(innovation_id)
        version = expected_version(required=False)
        receipt = services().app.record_pilot_outcome(
            innovation_id,
            pilot_id,
            actor=principal().actor(),
            expected_version=version,
            correlation_id=request_id(),
            **data,
        )
        return written(receipt, state(receipt) | {"pilot_id": pilot_id}, 201)


@blp.route("/innovations/<uuid:innovation_id>/evidence")
class Evidence(MethodView):
    @require("provider", "admin")
    @blp.arguments(EvidenceInput)
    @blp.response(201, EvidenceWrittenSchema, headers=WRITE_HEADERS)
    @blp.errors(*WRITE_ERRORS)
    @blp.doc(parameters=[IF_MATCH])
    def post(self, data: dict[str, Any], innovation_id: UUID) -> Any:
        """Add an evidence item (owner or admin)."""
        owned(innovation_id)
        version = expected_version(required=False)
        receipt = services().app.add_evidence(
            innovation_id, actor=principal().actor(), expected_version=version, correlation_id=request_id(), **data
        )
        return written(receipt, state(receipt) | {"evidence_id": receipt.item_id}, 201)


@blp.route("/innovations/<uuid:innovation_id>/assessments")
class Assessments(MethodView):
    @require("evaluator")
    @blp.arguments(AssessmentInput)
    @blp.response(201, AssessmentWrittenSchema, headers=WRITE_HEADERS)
    @blp.errors(*WRITE_ERRORS)
    @blp.doc(parameters=[IF_MATCH])
    def post(self, data: dict[str, Any], innovation_id: UUID) -> Any:
        """Record a rubric assessment (an evaluator assigned at the current stage; 409 `assessment.not_assigned`
        otherwise, and 409 on a conflict of interest)."""
        receipt = services().app.record_assessment(
            innovation_id,
            loaded=seen(innovation_id),
            actor=principal().actor(),
            expected_version=expected_version(required=False),
            correlation_id=request_id(),
            **data,
        )
        assert receipt.recorded is not None
        consolidated = receipt.aggregate.consolidated
        body = state(receipt) | {
            "assessment_id": receipt.item_id,
            "mpi": receipt.recorded["mpi"],
            "consolidated": consolidated.as_dict() if consolidated else None,
        }
        return written(receipt, body, 201)


@blp.route("/innovations/<uuid:innovation_id>/decisions")
class Decisions(MethodView):
    @require("manager", "admin")
    @blp.arguments(DecisionInput)
    @blp.response(200, WrittenSchema, headers=WRITE_HEADERS)
    @blp.errors(*WRITE_ERRORS, 428)
    @blp.doc(parameters=[{**IF_MATCH, "required": True}])
    def post(self, data: dict[str, Any], innovation_id: UUID) -> Any:
        """Take a gate decision (manager or admin): advance, hold, resume, recycle (with to_stage) or discontinue
        (If-Match required; a manager bound to the owning or a member organisation is refused)."""
        version = expected_version(required=True)
        receipt = services().app.decide_gate(
            innovation_id, actor=principal().actor(), expected_version=version, correlation_id=request_id(), **data
        )
        return written(receipt, state(receipt))


@blp.route("/innovations/<uuid:innovation_id>/adoptions")
class Adoptions(MethodView):
    @require("provider", "admin")
    @blp.arguments(AdoptionInput)
    @blp.response(201, AdoptionWrittenSchema, headers=WRITE_HEADERS)
    @blp.errors(*WRITE_ERRORS)
    @blp.doc(parameters=[IF_MATCH])
    def post(self, data: dict[str, Any], innovation_id: UUID) -> Any:
        """Record an adoption (a provider of the adopting organisation, or admin)."""
        who = principal()
        inn = seen(innovation_id)
        if not viewer().acts_for(data["organisation_id"]):
            raise ProblemError(403, "A provider records adoptions by its own organisation only.", rule="ownership")
        receipt = services().app.record_adoption(
            innovation_id,
            loaded=inn,
            actor=who.actor(),
            expected_version=expected_version(required=False),
            correlation_id=request_id(),
            **data,
        )
        return written(receipt, state(receipt) | {"adoption_id": receipt.item_id}, 201)
