"""The provider's pages: their organisation's innovations, an innovation's page (timeline, pilots and outcomes,
evidence, adoptions, decisions, and a closed round's assessments without evaluator names), and the forms to submit
and revise an innovation, start a pilot, record its outcome, add evidence and record an adoption.

Who may change what is the policy's (`Viewer.acts_for`); the fields are checked by the domain, as for the API."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from uuid import UUID

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from wtforms.fields.choices import SelectChoice

from access import policy
from pages.forms import AdoptionForm, EvidenceForm, InnovationForm, OutcomeForm, PilotForm, SubmissionForm
from pages.loading import ecosystem_name, organisation_names, person_names, seen
from pages.refusals import refused
from pages.session import Page, caught_up, role_required, signed_in
from pages.vocabulary import CRITERIA, LEVELS
from pages.writing import page, write
from projections.queries.directory import list_organisations, member_ecosystems
from projections.queries.innovations import InnovationFilter, list_innovations
from tracker.errors import DomainError
from tracker.fields import check_may_adopt, may_adopt
from tracker.rubric import CURRENT_RUBRIC
from tracker.rules import accepts
from web.services import services

blp = Blueprint("provider", __name__, template_folder="templates")
# The owner's forms on an innovation's page, by the domain's name of their command.
OWNER_COMMANDS = ("revise", "start_pilot", "add_evidence", "record_pilot_outcome")

PROVIDERS = ("provider", "admin")
READERS = ("admin", "manager", "analyst", "provider", "evaluator")
PAGE_SIZE = 50


@blp.get("/innovations/mine")
@role_required("provider")
def mine() -> Page:
    """Every innovation of the provider's organisation, in every stage."""
    me = signed_in()
    try:
        number = max(1, int(request.args.get("page", "1")))
    except ValueError:
        number = 1
    found = list_innovations(
        caught_up(),
        InnovationFilter(organisation_id=me.person.organisation_id),
        page=number,
        page_size=PAGE_SIZE,
        scope=policy.scope(me.viewer()),
    )
    return render_template("provider/mine.html", found=found, pages=max(1, -(-found.total // PAGE_SIZE)))


def _owned(innovation_id: UUID) -> Any:
    """The innovation, where the reader writes for its organisation (403 page otherwise)."""
    inn = seen(innovation_id)
    if not signed_in().viewer().acts_for(inn.organisation_id):
        abort(403)
    return inn


def _assessments(inn: Any) -> list[dict[str, Any]]:
    """The assessments the reader may see, with evaluators named as the policy names them for this reader."""
    viewer = signed_in().viewer()
    numbers = policy.anonymous_numbers(viewer, inn)
    shown = []
    for assessment in inn.assessments:
        view = policy.assessment_view(viewer, inn, assessment)
        if view is None:
            continue
        if view == "anonymous":
            name = _("evaluator %(n)d", n=numbers[assessment["evaluator_id"]])
        else:
            name = person_names({assessment["evaluator_id"]})[assessment["evaluator_id"]]
        shown.append(assessment | {"shown_as": name})
    return shown


@blp.get("/innovations/<uuid:innovation_id>")
@role_required(*READERS)
def innovation(innovation_id: UUID) -> Page:
    inn = seen(innovation_id)
    viewer = signed_in().viewer()
    organisations = {inn.organisation_id} | {p["site_organisation_id"] for p in inn.pilots.values()}
    organisations |= {a["organisation_id"] for a in inn.adoptions}
    me = signed_in().person
    return render_template(
        "provider/innovation.html",
        inn=inn,
        names=organisation_names(organisations),
        ecosystem=ecosystem_name(inn.ecosystem_id),
        assessments=_assessments(inn),
        criteria=[(c, CRITERIA[c.key]) for c in CURRENT_RUBRIC.criteria],
        levels=LEVELS,
        mpi_shown=not policy.mpi_hidden(viewer, inn),
        owner=viewer.acts_for(inn.organisation_id),
        # What the innovation takes in its status (the domain's rule): the owner is offered only those forms.
        takes={command: accepts(inn.status, command) for command in OWNER_COMMANDS},
        may_adopt=me.role == "provider" and me.organisation_id is not None and may_adopt(inn, me.organisation_id),
    )


@blp.route("/innovations/new", methods=["GET", "POST"])
@role_required("provider")
def submit() -> Page:
    form = SubmissionForm()
    me = signed_in()
    # Nothing chosen at first, which places the innovation in no ecosystem.
    form.ecosystem_id.choices = [SelectChoice("", _("None"))] + [
        SelectChoice(str(e["id"]), f"{e['acronym']}: {e['title']}")
        for e in member_ecosystems(caught_up(), me.person.organisation_id)
    ]
    render = page("provider/edit.html", form=form, inn=None)
    return write(
        None,
        form,
        render,
        lambda _: services().app.submit_innovation(
            actor=me.actor(), organisation_id=me.person.organisation_id, **form.details(), **form.placement()
        ),
        done=_("The innovation is submitted."),
        then=lambda receipt: url_for("provider.innovation", innovation_id=receipt.aggregate_id),
    )


@blp.route("/innovations/<uuid:innovation_id>/edit", methods=["GET", "POST"])
@role_required(*PROVIDERS)
def revise(innovation_id: UUID) -> Page:
    inn = _owned(innovation_id)
    if request.method == "GET":
        form = InnovationForm(
            data={
                "title": inn.title,
                "summary": inn.summary,
                "themes": ", ".join(inn.themes),
                "target_groups": ", ".join(inn.target_groups),
                "readiness_level": inn.readiness_level,
                "version": str(inn.version),
            }
        )
        return page("provider/edit.html", form=form, inn=inn)()
    form = InnovationForm()
    return write(
        inn,
        form,
        page("provider/edit.html", form=form, inn=inn),
        lambda read: services().app.revise_innovation(
            innovation_id, form.details(), actor=signed_in().actor(), expected_version=read
        ),
        done=_("The innovation is revised."),
        then=url_for("provider.innovation", innovation_id=innovation_id),
    )


def _sites() -> list[SelectChoice]:
    """Organisations a pilot may run at: the directory, by name."""
    found = list_organisations(caught_up(), page_size=10_000)
    # Nothing chosen at first: a form sent without choosing is asked to choose, never given the first one.
    return [SelectChoice("", "–")] + [SelectChoice(str(o["id"]), f"{o['name']} ({o['country']})") for o in found.items]


@blp.route("/innovations/<uuid:innovation_id>/pilots/new", methods=["GET", "POST"])
@role_required(*PROVIDERS)
def start_pilot(innovation_id: UUID) -> Page:
    inn = _owned(innovation_id)
    form = PilotForm()
    form.site.choices = _sites()
    render = page("provider/pilot.html", form=form, inn=inn)
    if request.method == "POST" and form.site.data not in {c.value for c in form.site.choices}:
        form.site.errors = [_("Choose one of the organisations listed.")]
        return render(), 422
    return write(
        inn,
        form,
        render,
        lambda read: services().app.start_pilot(
            innovation_id,
            actor=signed_in().actor(),
            site_organisation_id=UUID(form.site.data),
            started_on=form.started_on.data,
            planned_participants=form.planned_participants.data,
            description=form.description.data or None,
            expected_version=read,
        ),
        done=_("The pilot is recorded."),
        then=url_for("provider.innovation", innovation_id=innovation_id),
    )


@blp.route("/innovations/<uuid:innovation_id>/pilots/<uuid:pilot_id>/outcome", methods=["GET", "POST"])
@role_required(*PROVIDERS)
def record_outcome(innovation_id: UUID, pilot_id: UUID) -> Page:
    inn = _owned(innovation_id)
    pilot = inn.pilots.get(pilot_id.hex)
    if pilot is None:
        abort(404)
    form = OutcomeForm()
    render = page(
        "provider/outcome.html",
        form=form,
        inn=inn,
        pilot=pilot,
        site=organisation_names({pilot["site_organisation_id"]}),
    )
    return write(
        inn,
        form,
        render,
        lambda read: services().app.record_pilot_outcome(
            innovation_id,
            pilot_id,
            actor=signed_in().actor(),
            ended_on=form.ended_on.data,
            participants=form.participants.data,
            completion_rate=float(form.completion_rate.data / Decimal(100)),
            satisfaction=float(form.satisfaction.data) if form.satisfaction.data is not None else None,
            notes=form.notes.data or None,
            expected_version=read,
        ),
        done=_("The pilot's outcome is recorded."),
        then=url_for("provider.innovation", innovation_id=innovation_id),
    )


@blp.route("/innovations/<uuid:innovation_id>/evidence/new", methods=["GET", "POST"])
@role_required(*PROVIDERS)
def add_evidence(innovation_id: UUID) -> Page:
    inn = _owned(innovation_id)
    form = EvidenceForm()
    render = page("provider/evidence.html", form=form, inn=inn)
    return write(
        inn,
        form,
        render,
        lambda read: services().app.add_evidence(
            innovation_id,
            actor=signed_in().actor(),
            kind=form.kind.data,
            title=form.title.data,
            url=form.url.data or None,
            description=form.description.data or None,
            expected_version=read,
        ),
        done=_("The evidence is added."),
        then=url_for("provider.innovation", innovation_id=innovation_id),
    )


@blp.route("/innovations/<uuid:innovation_id>/adoptions/new", methods=["GET", "POST"])
@role_required("provider")
def record_adoption(innovation_id: UUID) -> Page:
    """Record that the reader's own organisation adopted the innovation."""
    inn = seen(innovation_id)
    me = signed_in().person
    if request.method == "GET" and me.organisation_id is not None:
        # The form is offered only where the adoption would be taken; opened anyway, it says why not.
        try:
            check_may_adopt(inn, me.organisation_id)
        except DomainError as error:
            flash(refused(error), "error")
            return redirect(url_for("provider.innovation", innovation_id=innovation_id))
    form = AdoptionForm()
    render = page("provider/adoption.html", form=form, inn=inn)
    return write(
        inn,
        form,
        render,
        lambda read: services().app.record_adoption(
            innovation_id,
            actor=signed_in().actor(),
            organisation_id=me.organisation_id,
            adopted_on=form.adopted_on.data,
            notes=form.notes.data or None,
            expected_version=read,
        ),
        done=_("The adoption is recorded."),
        then=url_for("provider.innovation", innovation_id=innovation_id),
    )
