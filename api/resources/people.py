"""People: the directory of who uses the tracker, their keys, and the caller as a person."""

from __future__ import annotations

from datetime import UTC
from typing import Any
from uuid import UUID

from flask.views import MethodView

from access.keys import KeyError_
from access.people import Person
from api.auth import principal, require
from api.csv_export import stream_csv
from api.errors import ProblemError
from api.resources import READ_ERRORS, WRITE_ERRORS, ApiBlueprint, no_query, wants_csv
from api.schemas.common import page_of
from api.schemas.people import (
    KeyCreatedSchema,
    KeyInput,
    KeySchema,
    MeSchema,
    PeopleQuery,
    PersonChangeSchema,
    PersonInput,
    PersonPatch,
    PersonSchema,
)
from tracker.actors import PERSON_ROLES
from tracker.errors import NotFoundError
from web.read_connection import read_connection
from web.services import services

blp = ApiBlueprint("people", __name__, url_prefix="/api/v1", description="People, their keys, and the caller")
# The CSV's columns: a person's fields, as the JSON list gives them.
PERSON_COLUMNS = list(PersonSchema().fields)


def _check_organisation(organisation_id: UUID | None) -> None:
    """An organisation named for a person must exist (422 otherwise, as for any invalid field)."""
    if organisation_id is None:
        return
    try:
        services().app.get_organisation(organisation_id)
    except NotFoundError:
        raise ProblemError(
            422,
            "The request has invalid fields.",
            errors={"organisation_id": [f"No organisation has the id {organisation_id}."]},
        ) from None


def _self_or(person_id: UUID, *roles: str) -> None:
    """The person themselves, or one of `roles`."""
    who = principal()
    if who.person_id != person_id and who.role not in roles:
        raise ProblemError(403, "Only the person themselves or an admin may do this.", rule="person.self_or_admin")


def _person(person_id: UUID) -> Person:
    return services().people.require(person_id, read_connection())


@blp.route("/people")
class People(MethodView):
    @require("admin", "manager")
    @blp.arguments(PeopleQuery, location="query")
    @blp.response(200, page_of(PersonSchema))
    @blp.csv_too("person")
    @blp.errors(*READ_ERRORS)
    def get(self, query: dict[str, Any]) -> Any:
        """List people (admin or manager), by name; filter by role, organisation or text."""
        page, page_size = query.pop("page"), query.pop("page_size")
        if wants_csv():
            everyone, _ = services().people.list(read_connection(), **query, page=1, page_size=10**9)
            return stream_csv(PERSON_COLUMNS, (p.as_dict() for p in everyone), filename="people.csv")
        found, total = services().people.list(read_connection(), **query, page=page, page_size=page_size)
        return {"items": [p.as_dict() for p in found], "total": total, "page": page, "page_size": page_size}

    @require("admin")
    @blp.arguments(PersonInput)
    @blp.response(201, PersonSchema, headers={"Location": {"schema": {"type": "string"}}})
    @blp.errors(*WRITE_ERRORS)
    def post(self, data: dict[str, Any]) -> Any:
        """Add a person (admin). Providers and evaluators need an organisation; an address is used once."""
        _check_organisation(data.get("organisation_id"))
        person = services().people.create(actor_id=principal().actor().id, **data)
        return person.as_dict(), 201, {"Location": f"/api/v1/people/{person.id}"}


@blp.route("/people/<uuid:person_id>")
class PersonItem(MethodView):
    @require(*PERSON_ROLES)
    @no_query
    @blp.response(200, PersonSchema)
    @blp.errors(404, *READ_ERRORS)
    def get(self, person_id: UUID) -> Any:
        """One person (admin, manager, or the person)."""
        _self_or(person_id, "admin", "manager")
        return _person(person_id).as_dict()

    @require("admin")
    @blp.arguments(PersonPatch)
    @blp.response(200, PersonSchema)
    @blp.errors(*WRITE_ERRORS)
    def patch(self, data: dict[str, Any], person_id: UUID) -> Any:
        """Change a person (admin); `active: false` stops every key and session of theirs at once."""
        if "organisation_id" in data:
            _check_organisation(data["organisation_id"])
        return services().people.update(person_id, data, actor_id=principal().actor().id).as_dict()

    @require("admin")
    @no_query
    @blp.response(204)
    @blp.errors(*WRITE_ERRORS)
    def delete(self, person_id: UUID) -> Any:
        """Erase a person (admin): their name and address go; the id stays in the history as an erased person."""
        services().people.erase(person_id, actor_id=principal().actor().id)
        return "", 204


@blp.route("/people/<uuid:person_id>/changes")
class PersonChanges(MethodView):
    @require("admin")
    @no_query
    @blp.response(200, PersonChangeSchema(many=True))
    @blp.errors(404, *READ_ERRORS)
    def get(self, person_id: UUID) -> Any:
        """Every change to the person, oldest first (admin): who, when, which fields; never a name or an address."""
        _person(person_id)
        return [
            {
                "at": c["at"].replace(tzinfo=UTC),
                "actor_id": c["actor_id"],
                "change": c["change"],
                "fields_": c["fields"],
            }
            for c in services().people.changes(person_id)
        ]


@blp.route("/people/<uuid:person_id>/keys")
class PersonKeys(MethodView):
    @require(*PERSON_ROLES)
    @no_query
    @blp.response(200, KeySchema(many=True))
    @blp.errors(404, *READ_ERRORS)
    def get(self, person_id: UUID) -> Any:
        """The person's active keys, never their secrets (admin, or the person)."""
        _self_or(person_id, "admin")
        _person(person_id)
        return [k.__dict__ for k in services().keys.list(person_id=person_id)]

    @require(*PERSON_ROLES)
    @blp.arguments(KeyInput)
    @blp.response(201, KeyCreatedSchema)
    @blp.errors(*WRITE_ERRORS)
    def post(self, data: dict[str, Any], person_id: UUID) -> Any:
        """Create a key for the person (admin, or the person); the key is shown this once."""
        _self_or(person_id, "admin")
        _person(person_id)
        try:
            token, info = services().keys.create_for(person_id=person_id, name=data["name"])
        except KeyError_ as exc:
            raise ProblemError(409, str(exc), rule="key.refused") from None
        return {"name": info.name, "key": token, "id": info.id, "created_at": info.created_at}, 201


@blp.route("/people/<uuid:person_id>/keys/<string:name>")
class PersonKey(MethodView):
    @require(*PERSON_ROLES)
    @no_query
    @blp.response(204)
    @blp.errors(404, *WRITE_ERRORS)
    def delete(self, person_id: UUID, name: str) -> Any:
        """Revoke one of the person's keys by name (admin, or the person); it stops at once."""
        _self_or(person_id, "admin")
        if not services().keys.revoke(name, person_id=person_id):
            raise ProblemError(404, f"the person has no active key named {name!r}", rule="not_found.key")
        return "", 204


@blp.route("/me")
class Me(MethodView):
    @require(*PERSON_ROLES)
    @no_query
    @blp.response(200, MeSchema)
    @blp.errors(*READ_ERRORS)
    def get(self) -> Any:
        """The caller as a person: id, name, role, organisation and language."""
        me = _person(principal().person_id)
        return {k: v for k, v in me.as_dict().items() if k in ("id", "name", "role", "organisation_id", "locale")}
