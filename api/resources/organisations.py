"""Organisations and ecosystems."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask.views import MethodView

from api.auth import READERS, principal, require
from api.csv_export import stream_csv
from api.errors import ProblemError
from api.http import etag, expected_version, written
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
    no_query,
    projected,
    wants_csv,
)
from api.schemas.common import page_of
from api.schemas.directory import (
    EcosystemDetailSchema,
    EcosystemInput,
    EcosystemQuery,
    EcosystemSchema,
    MemberInput,
    OrganisationInput,
    OrganisationQuery,
    OrganisationSchema,
)
from projections.queries import directory
from tracker.ecosystem import ECOSYSTEM_DETAILS, Ecosystem
from tracker.organisation import Organisation
from web.observability import request_id
from web.read_connection import read_connection
from web.services import services

blp = ApiBlueprint("directory", __name__, url_prefix="/api/v1", description="Organisations and ecosystems")

ORG_COLUMNS = ["id", "name", "country", "kind", "pic", "oid", "website", "registered_at", "version"]
ECO_COLUMNS = ["id", *ECOSYSTEM_DETAILS, "member_count", "registered_at", "version"]


def organisation_body(org: Organisation) -> dict[str, Any]:
    return {
        "id": org.id,
        "name": org.name,
        "country": org.country,
        "kind": org.kind,
        "pic": org.pic,
        "oid": org.oid,
        "website": org.website,
        "registered_at": org.created_on,
        "version": org.version,
    }


def ecosystem_body(eco: Ecosystem) -> dict[str, Any]:
    app = services().app
    members = []
    for m in eco.members:
        org = app.get_organisation(m["organisation_id"])
        members.append(
            {
                "organisation_id": org.id,
                "name": org.name,
                "country": org.country,
                "role": m["role"],
                "joined_at": m["joined_at"],
            }
        )
    return {"id": eco.id, **eco.details()} | {
        "registered_at": eco.created_on,
        "updated_at": eco.modified_on,
        "version": eco.version,
        "member_count": len(members),
        "members": members,
    }


@blp.route("/organisations")
class Organisations(MethodView):
    @require(*READERS)
    @projected
    @blp.arguments(OrganisationQuery, location="query")
    @blp.response(200, page_of(OrganisationSchema), headers={"X-Projection-Position": POSITION_HEADER})
    @blp.csv_too("organisation")
    @blp.errors(*READ_ERRORS)
    @blp.doc(parameters=[MIN_POSITION])
    def get(self, query: dict[str, Any]) -> Any:
        """List organisations, filtered by country, kind or text."""
        filters = {k: query.get(k) for k in ("country", "kind", "q")}
        conn = read_connection()
        if wants_csv():
            rows = directory.list_organisations(conn, **filters, page=1, page_size=10**9).items
            return stream_csv(ORG_COLUMNS, rows, filename="organisations.csv")
        page = directory.list_organisations(conn, **filters, page=query["page"], page_size=query["page_size"])
        return page.__dict__

    @require("admin")
    @blp.arguments(OrganisationInput)
    @blp.response(201, OrganisationSchema, headers=CREATED_HEADERS)
    @blp.errors(*WRITE_ERRORS)
    def post(self, data: dict[str, Any]) -> Any:
        """Register an organisation (admin). The same name and country twice is refused with 409."""
        receipt = services().app.register_organisation(actor=principal().actor(), correlation_id=request_id(), **data)
        return written(
            receipt, organisation_body(receipt.aggregate), 201, f"/api/v1/organisations/{receipt.aggregate_id}"
        )


@blp.route("/organisations/<uuid:organisation_id>")
class OrganisationItem(MethodView):
    @require(*READERS)
    @no_query
    @projected
    @blp.response(200, OrganisationSchema, headers={"ETag": VERSION_HEADER, "X-Projection-Position": POSITION_HEADER})
    @blp.errors(404, *READ_ERRORS)
    @blp.doc(parameters=[MIN_POSITION])
    def get(self, organisation_id: UUID) -> Any:
        """One organisation."""
        found = directory.get_organisation(read_connection(), organisation_id)
        if found is None:
            raise ProblemError(404, f"organisation {organisation_id} not found")
        return found, 200, {"ETag": etag(found["version"])}


@blp.route("/ecosystems")
class Ecosystems(MethodView):
    @require(*READERS)
    @projected
    @blp.arguments(EcosystemQuery, location="query")
    @blp.response(200, page_of(EcosystemSchema), headers={"X-Projection-Position": POSITION_HEADER})
    @blp.csv_too("ecosystem")
    @blp.errors(*READ_ERRORS)
    @blp.doc(parameters=[MIN_POSITION])
    def get(self, query: dict[str, Any]) -> Any:
        """List ecosystems, filtered by a member's country or by text."""
        filters = {"country": query.get("country"), "q": query.get("q"), "sort": query["sort"]}
        conn = read_connection()
        if wants_csv():
            rows = directory.list_ecosystems(conn, **filters, page=1, page_size=10**9).items
            return stream_csv(ECO_COLUMNS, rows, filename="ecosystems.csv")
        page = directory.list_ecosystems(conn, **filters, page=query["page"], page_size=query["page_size"])
        return page.__dict__

    @require("admin")
    @blp.arguments(EcosystemInput)
    @blp.response(201, EcosystemDetailSchema, headers=CREATED_HEADERS)
    @blp.errors(*WRITE_ERRORS)
    def post(self, data: dict[str, Any]) -> Any:
        """Register an ecosystem with its members (admin)."""
        members = [(m["organisation_id"], m["role"]) for m in data.pop("members")]
        receipt = services().app.register_ecosystem(
            actor=principal().actor(), correlation_id=request_id(), members=members, **data
        )
        return written(receipt, ecosystem_body(receipt.aggregate), 201, f"/api/v1/ecosystems/{receipt.aggregate_id}")


@blp.route("/ecosystems/<uuid:ecosystem_id>")
class EcosystemItem(MethodView):
    @require(*READERS)
    @no_query
    @projected
    @blp.response(
        200, EcosystemDetailSchema, headers={"ETag": VERSION_HEADER, "X-Projection-Position": POSITION_HEADER}
    )
    @blp.errors(404, *READ_ERRORS)
    @blp.doc(parameters=[MIN_POSITION])
    def get(self, ecosystem_id: UUID) -> Any:
        """One ecosystem with its members."""
        found = directory.get_ecosystem(read_connection(), ecosystem_id)
        if found is None:
            raise ProblemError(404, f"ecosystem {ecosystem_id} not found")
        return found, 200, {"ETag": etag(found["version"])}


@blp.route("/ecosystems/<uuid:ecosystem_id>/members")
class EcosystemMembers(MethodView):
    @require("admin")
    @blp.arguments(MemberInput)
    @blp.response(201, EcosystemDetailSchema, headers=WRITE_HEADERS)
    @blp.errors(*WRITE_ERRORS)
    @blp.doc(parameters=[IF_MATCH])
    def post(self, data: dict[str, Any], ecosystem_id: UUID) -> Any:
        """Add a member organisation in a role (admin)."""
        receipt = services().app.add_ecosystem_member(
            ecosystem_id,
            actor=principal().actor(),
            correlation_id=request_id(),
            expected_version=expected_version(required=False),
            **data,
        )
        return written(receipt, ecosystem_body(receipt.aggregate), 201)
