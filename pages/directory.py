"""The admin's pages for the directory: organisations and ecosystems, registering them, and an ecosystem's members.

Organisations and ecosystems are event-sourced aggregates (unlike people): each page writes through the same use case
as the JSON API, and reads the directory's projection."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask import Blueprint, abort, request, url_for
from flask_babel import gettext as _
from wtforms.fields.choices import SelectChoice

from pages.forms import EcosystemForm, MemberForm, OrganisationForm
from pages.refusals import refused, sentence
from pages.session import Page, caught_up, role_required, signed_in
from pages.vocabulary import MEMBER_ROLE_NAMES, ORGANISATION_KIND_NAMES
from pages.writing import page, write
from projections.queries.directory import get_ecosystem, list_ecosystems, list_organisations
from tracker.errors import DomainError, DuplicateError, NotFoundError
from web.services import services

blp = Blueprint("directory_pages", __name__, template_folder="templates")

PAGE_SIZE = 50


def _page_number() -> int:
    try:
        return max(1, int(request.args.get("page", "1")))
    except ValueError:
        return 1


def _refusal(error: DomainError) -> str:
    if isinstance(error, DuplicateError) and sentence(error) is None:
        return _("It is registered already.")
    return refused(error)


@blp.route("/admin/organisations", methods=["GET", "POST"])
@role_required("admin")
def organisations() -> Page:
    form = OrganisationForm()
    query = request.args.get("q") or None
    found = list_organisations(caught_up(), q=query, page=_page_number(), page_size=PAGE_SIZE)
    render = page(
        "directory/organisations.html",
        form=form,
        found=found,
        q=query or "",
        pages=max(1, -(-found.total // PAGE_SIZE)),
        kinds=ORGANISATION_KIND_NAMES,
    )
    return write(
        None,
        form,
        render,
        lambda _: services().app.register_organisation(
            actor=signed_in().actor(), name=form.name.data, country=form.country.data.upper(), kind=form.kind.data
        ),
        done=_("The organisation is registered."),
        then=url_for("directory_pages.organisations", q=form.name.data),
        refusal=_refusal,
    )


@blp.route("/admin/ecosystems", methods=["GET", "POST"])
@role_required("admin")
def ecosystems() -> Page:
    form = EcosystemForm()
    query = request.args.get("q") or None
    found = list_ecosystems(caught_up(), q=query, page=_page_number(), page_size=PAGE_SIZE)
    render = page(
        "directory/ecosystems.html", form=form, found=found, q=query or "", pages=max(1, -(-found.total // PAGE_SIZE))
    )
    return write(
        None,
        form,
        render,
        lambda _: services().app.register_ecosystem(
            actor=signed_in().actor(), acronym=form.acronym.data, title=form.title.data
        ),
        done=_("The ecosystem is registered."),
        then=lambda receipt: url_for("directory_pages.ecosystem", ecosystem_id=receipt.aggregate_id),
        refusal=_refusal,
    )


def _organisation_choices() -> list[SelectChoice]:
    found = list_organisations(caught_up(), page_size=10_000)
    # Nothing chosen at first: a form sent without choosing is asked to choose, never given the first one.
    return [SelectChoice("", "–")] + [SelectChoice(str(o["id"]), f"{o['name']} ({o['country']})") for o in found.items]


@blp.route("/admin/ecosystems/<uuid:ecosystem_id>", methods=["GET", "POST"])
@role_required("admin")
def ecosystem(ecosystem_id: UUID) -> Page:
    try:
        eco = services().app.get_ecosystem(ecosystem_id)
    except NotFoundError:
        abort(404)
    shown: dict[str, Any] | None = get_ecosystem(caught_up(), ecosystem_id)
    form = MemberForm()
    form.organisation.choices = _organisation_choices()
    render = page("directory/ecosystem.html", eco=shown or {}, form=form, roles=MEMBER_ROLE_NAMES)
    if request.method == "POST" and form.organisation.data not in {c.value for c in form.organisation.choices}:
        form.organisation.errors = [_("Choose one of the organisations listed.")]
        return render(), 422
    return write(
        eco,
        form,
        render,
        lambda read: services().app.add_ecosystem_member(
            ecosystem_id,
            actor=signed_in().actor(),
            organisation_id=UUID(form.organisation.data),
            role=form.role.data,
            expected_version=read,
        ),
        done=_("The member is added."),
        then=url_for("directory_pages.ecosystem", ecosystem_id=ecosystem_id),
        refusal=_refusal,
    )
