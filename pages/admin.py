"""The admin's pages for people: the directory, inviting a person (the link is shown once, here), changing a role,
deactivating and reactivating, erasing, and a person's API keys (made for them and shown once, revoked).

People live outside the event log (access.people); every change is recorded in their change log with the admin as
its actor, as through the JSON API."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from wtforms.fields.choices import SelectChoice

from access.keys import KeyError_
from access.people import DuplicateEmailError, Person
from access.signin import PersonCannotSignInError
from pages.forms import ConfirmForm, DetailsForm, EraseForm, KeyForm, PersonForm, RoleForm, refused_status
from pages.refusals import refused
from pages.session import Page, caught_up, role_required, signed_in
from pages.vocabulary import PERSON_CHANGES, PERSON_FIELDS
from projections.queries.directory import list_organisations
from tracker.errors import DomainError, ValidationError
from web.services import services

blp = Blueprint("admin", __name__, template_folder="templates")

PAGE_SIZE = 50


def _organisations() -> list[SelectChoice]:
    found = list_organisations(caught_up(), page_size=10_000)
    return [SelectChoice("", "–")] + [SelectChoice(str(o["id"]), f"{o['name']} ({o['country']})") for o in found.items]


def _organisation(value: str | None) -> UUID | None:
    try:
        return UUID(value) if value else None
    except ValueError:
        return None


def _actor() -> str:
    return str(signed_in().person.id)


@blp.route("/admin/people", methods=["GET", "POST"])
@role_required("admin")
def people() -> Page:
    """The directory of people, and the invitation form."""
    form = PersonForm()
    form.organisation.choices = _organisations()
    query = request.args.get("q") or None
    try:
        number = max(1, int(request.args.get("page", "1")))
    except ValueError:
        number = 1
    found, total = services().people.list(caught_up(), q=query, page=number, page_size=PAGE_SIZE)

    def render(status: int = 200, **extra: Any) -> Page:
        page = render_template(
            "admin/people.html",
            form=form,
            people=found,
            total=total,
            q=query or "",
            page=number,
            pages=max(1, -(-total // PAGE_SIZE)),
            names=_names_of(form.organisation.choices),
            **extra,
        )
        return page, status

    if request.method == "GET":
        return render()
    if not form.validate_on_submit():
        return render(refused_status(form))
    svc = services()
    try:
        person = svc.people.create(
            actor_id=_actor(),
            name=form.name.data,
            email=form.email.data,
            role=form.role.data,
            organisation_id=_organisation(form.organisation.data),
            locale=form.locale.data,
        )
    except DuplicateEmailError:
        form.email.errors = [_("A person with this address exists already.")]
        return render(422)
    except ValidationError as error:
        target = {"organisation_id": form.organisation, "email": form.email, "name": form.name}.get(error.field)
        message = _refusal(error)
        if target is None:
            return render(422, refused=message)
        target.errors = [message]
        return render(422)
    invitation = svc.signin.invite(person.id, actor_id=_actor())
    return _invitation_page(invitation)


def _invitation_page(invitation: Any) -> Page:
    link = f"{services().settings.base_url}/invitations/{invitation.token}"
    return render_template("admin/invited.html", person=invitation.person, link=link, expires_at=invitation.expires_at)


def _names_of(choices: list[SelectChoice]) -> dict[UUID, str]:
    """The organisations' names by id, from the choices already read for a form."""
    return {UUID(c.value): str(c.label) for c in choices if c.value}


def _person(person_id: UUID) -> Person:
    person = services().people.get(person_id)
    if person is None:
        abort(404)
    return person


def _person_page(person: Person, status: int = 200, **extra: Any) -> Page:
    role = extra.pop("role_form", None) or RoleForm(
        data={"role": person.role, "organisation": str(person.organisation_id or "")}
    )
    if not role.organisation.choices:
        role.organisation.choices = _organisations()
    page = render_template(
        "admin/person.html",
        person=person,
        role_form=role,
        key_form=extra.pop("key_form", None) or KeyForm(),
        details_form=extra.pop("details_form", None)
        or DetailsForm(data={"name": person.name, "email": person.email, "locale": person.locale}),
        erase_form=extra.pop("erase_form", None) or EraseForm(),
        keys=services().keys.list(person_id=person.id, include_revoked=True),
        changes=services().people.changes(person.id),
        change_names=PERSON_CHANGES,
        field_names=PERSON_FIELDS,
        organisation_name=_names_of(role.organisation.choices).get(person.organisation_id),
        **extra,
    )
    return page, status


@blp.get("/admin/people/<uuid:person_id>")
@role_required("admin")
def person(person_id: UUID) -> Page:
    return _person_page(_person(person_id))


@blp.post("/admin/people/<uuid:person_id>/role")
@role_required("admin")
def change_role(person_id: UUID) -> Page:
    current = _person(person_id)
    form = RoleForm()
    form.organisation.choices = _organisations()
    if not form.validate_on_submit():
        return _person_page(current, refused_status(form), role_form=form)
    try:
        services().people.update(
            person_id,
            {"role": form.role.data, "organisation_id": _organisation(form.organisation.data)},
            actor_id=_actor(),
        )
    except DomainError as error:
        return _person_page(current, 422, role_form=form, refused=_refusal(error))
    flash(_("The role is changed."), "success")
    return redirect(url_for("admin.person", person_id=person_id))


@blp.post("/admin/people/<uuid:person_id>/details")
@role_required("admin")
def change_details(person_id: UUID) -> Page:
    current = _person(person_id)
    form = DetailsForm()
    if not form.validate_on_submit():
        return _person_page(current, refused_status(form), details_form=form)
    try:
        services().people.update(
            person_id,
            {"name": form.name.data, "email": form.email.data, "locale": form.locale.data},
            actor_id=_actor(),
        )
    except DuplicateEmailError:
        form.email.errors = [_("A person with this address exists already.")]
        return _person_page(current, 422, details_form=form)
    except ValidationError as error:
        target = {"email": form.email, "name": form.name}.get(error.field)
        if target is None:
            return _person_page(current, 422, details_form=form, refused=_refusal(error))
        target.errors = [_refusal(error)]
        return _person_page(current, 422, details_form=form)
    except DomainError as error:
        return _person_page(current, 409, details_form=form, refused=_refusal(error))
    flash(_("The details are changed."), "success")
    return redirect(url_for("admin.person", person_id=person_id))


@blp.post("/admin/people/<uuid:person_id>/active")
@role_required("admin")
def set_active(person_id: UUID) -> Page:
    current = _person(person_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        return _person_page(current, refused_status(form), refused=_expired())
    active = request.form.get("active") == "1"
    if current.id == signed_in().person.id and not active:
        return _person_page(current, 409, refused=_("You cannot deactivate yourself."))
    try:
        services().people.update(person_id, {"active": active}, actor_id=_actor())
    except DomainError as error:
        return _person_page(current, 409, refused=_refusal(error))
    flash(
        _("The person is active again.")
        if active
        else _("The person is deactivated: their keys and sessions stop now."),
        "success",
    )
    return redirect(url_for("admin.person", person_id=person_id))


@blp.post("/admin/people/<uuid:person_id>/invitation")
@role_required("admin")
def invite(person_id: UUID) -> Page:
    current = _person(person_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        return _person_page(current, refused_status(form), refused=_expired())
    try:
        invitation = services().signin.invite(person_id, actor_id=_actor())
    except PersonCannotSignInError:
        return _person_page(current, 409, refused=_("Only an active person with an e-mail address can be invited."))
    return _invitation_page(invitation)


@blp.post("/admin/people/<uuid:person_id>/erase")
@role_required("admin")
def erase(person_id: UUID) -> Page:
    current = _person(person_id)
    form = EraseForm()
    if not form.validate_on_submit():
        return _person_page(current, refused_status(form), erase_form=form)
    if current.id == signed_in().person.id:
        return _person_page(current, 409, refused=_("You cannot erase yourself."))
    services().people.erase(person_id, actor_id=_actor())
    flash(_("The person's name and address are erased; the history keeps only their id."), "success")
    return redirect(url_for("admin.person", person_id=person_id))


@blp.post("/admin/people/<uuid:person_id>/keys")
@role_required("admin")
def create_key(person_id: UUID) -> Page:
    current = _person(person_id)
    form = KeyForm()
    if not form.validate_on_submit():
        return _person_page(current, refused_status(form), key_form=form)
    try:
        token, info = services().keys.create_for(person_id=person_id, name=form.key_name.data)
    except KeyError_ as error:
        form.key_name.errors = [_key_refusal(error)]
        return _person_page(current, 422, key_form=form)
    return _person_page(current, 201, new_key=token, new_key_name=info.name)


@blp.post("/admin/people/<uuid:person_id>/keys/<key_id>/revoke")
@role_required("admin")
def revoke_key(person_id: UUID, key_id: str) -> Page:
    current = _person(person_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        return _person_page(current, refused_status(form), refused=_expired())
    try:
        revoked = services().keys.revoke(key_id, person_id=person_id)
    except KeyError_ as error:
        return _person_page(current, 409, refused=_key_refusal(error))
    if not revoked:
        abort(404)
    flash(_("The key is revoked."), "success")
    return redirect(url_for("admin.person", person_id=person_id))


def _expired() -> str:
    return _("The form expired or was not sent from this site. Nothing was changed; send it again.")


def _refusal(error: DomainError) -> str:
    messages = {
        "validation.organisation_id": _(
            "Providers and evaluators belong to an organisation; admins and analysts do not."
        ),
        "validation.email": _("Give an e-mail address such as name@example.org."),
        "person.erased": _("An erased person cannot be changed."),
    }
    return messages.get(error.rule) or refused(error)


def _key_refusal(error: KeyError_) -> str:
    """Why a key was not made or revoked, in the reader's language."""
    sentences = {
        "key.name_taken": _("This person has an active key with this name: revoke it first, or choose another name."),
        "key.name_ambiguous": _("Several active keys have this name: revoke one by its id."),
        "key.person_inactive": _("Keys are made only for active people: reactivate the person first."),
    }
    return sentences.get(error.rule) or _("Not accepted: %(reason)s", reason=str(error))
