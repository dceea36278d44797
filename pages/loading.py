"""What the pages load the same way: an innovation as the reader may see it, and the names of the people and
organisations a page mentions."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask import abort

from access import policy
from pages.session import signed_in
from tracker.errors import NotFoundError
from web.services import services


def seen(innovation_id: UUID) -> Any:
    """The innovation, or a 404 page where it does not exist or the reader may not see it (access.policy)."""
    try:
        inn = services().app.get_innovation(innovation_id)
    except NotFoundError:
        abort(404)
    if not policy.sees_innovation(signed_in().viewer(), inn):
        abort(404)
    return inn


def person_names(ids: set[str]) -> dict[str, str]:
    """People's names by the ids events carry ("erased person" once erased; the id itself where it names no one)."""
    people = services().people
    found: dict[str, str] = {}
    for ident in ids:
        try:
            person = people.get(UUID(ident))
        except ValueError:
            person = None
        found[ident] = person.display_name if person is not None else ident
    return found


def organisation_names(ids: set[UUID]) -> dict[UUID, str]:
    found: dict[UUID, str] = {}
    for ident in ids:
        try:
            found[ident] = str(services().app.get_organisation(ident).name)
        except NotFoundError:
            found[ident] = str(ident)
    return found


def ecosystem_name(ecosystem_id: UUID | None) -> str | None:
    """How the pages name an innovation's ecosystem ("acronym: title"), or None for an innovation in none."""
    if ecosystem_id is None:
        return None
    try:
        ecosystem = services().app.get_ecosystem(ecosystem_id)
    except NotFoundError:
        return str(ecosystem_id)
    return f"{ecosystem.acronym}: {ecosystem.title}"
