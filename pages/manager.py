"""The manager's pages: the portfolio by stage with each round's progress, and an innovation's round and gate:
assigning evaluators (those with a conflict of interest left out, each with their open load), unassigning, the
gate's checklist from the domain's own requirements, and the decision.

Every write is the application's use case, as the JSON API calls it; a refusal comes back as the domain's rule."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import format_decimal
from flask_babel import gettext as _
from wtforms.fields.choices import SelectChoice

from access import policy
from pages.forms import AssignForm, DecisionForm, UnassignForm, refused_status
from pages.loading import organisation_names, person_names
from pages.session import Page, caught_up, role_required, signed_in, wrote
from pages.vocabulary import CRITERIA, DECISION_NAMES
from pages.writing import beside_field, changes_since, read_version
from projections.queries.evaluation import open_loads, round_progress
from projections.queries.innovations import InnovationFilter, list_innovations
from tracker.errors import DomainError, NotFoundError, ValidationError, VersionConflictError
from tracker.evaluation import assessed_this_round
from tracker.gates import Requirement, decisions_open, gate_requirements, recycle_targets
from tracker.rules import has_conflict_of_interest
from tracker.stages import STAGES, next_stage
from web.services import services

blp = Blueprint("manager", __name__, template_folder="templates")

MANAGERS = ("manager", "admin")
PAGE_SIZE = 50


@blp.get("/portfolio")
@role_required(*MANAGERS)
def portfolio() -> Page:
    stage = request.args.get("stage") or None
    if stage not in (None, *STAGES):
        stage = None
    try:
        page = max(1, int(request.args.get("page", "1")))
    except ValueError:
        page = 1
    conn = caught_up()
    found = list_innovations(
        conn, InnovationFilter(stage=stage), page=page, page_size=PAGE_SIZE, scope=policy.scope(signed_in().viewer())
    )
    progress = round_progress(conn, [item["id"] for item in found.items])
    return render_template(
        "manager/portfolio.html",
        found=found,
        progress=progress,
        stage=stage,
        stages=STAGES,
        pages=max(1, -(-found.total // PAGE_SIZE)),
    )


def _innovation(innovation_id: UUID) -> Any:
    try:
        return services().app.get_innovation(innovation_id)
    except NotFoundError:
        abort(404)


def _candidates(inn: Any) -> list[dict[str, Any]]:
    """The active evaluators who may be assigned now: not assigned at this stage already, and free of a conflict of
    interest (the domain's rule), each with their open load."""
    svc = services()
    members = svc.app.ecosystem_members(inn)
    conn = caught_up()
    people, _ = svc.people.list(conn, role="evaluator", page_size=10_000)
    eligible = [
        p
        for p in people
        if p.active
        and str(p.id) not in inn.assignments
        and not has_conflict_of_interest(p.organisation_id, inn.organisation_id, members)
    ]
    loads = open_loads(conn, [str(p.id) for p in eligible])
    return [
        {"person": p, "load": loads[str(p.id)]}
        for p in sorted(eligible, key=lambda p: (loads[str(p.id)], p.display_name))
    ]


def _choices(candidates: list[dict[str, Any]]) -> list[SelectChoice]:
    return [SelectChoice(str(c["person"].id), c["person"].display_name) for c in candidates]


def _page(inn: Any, status: int = 200, **forms: Any) -> Page:
    candidates = _candidates(inn)
    assign = forms.get("assign") or AssignForm()
    assign.evaluator.choices = _choices(candidates)
    decision = forms.get("decision") or DecisionForm()
    if request.method == "GET" or not decision.version.data:
        decision.version.data = str(inn.version)
    # Offered: the decisions the innovation takes now (tracker.gates); the form still reads any, and the domain
    # refuses the others in its words.
    offered = decisions_open(inn)
    # Shown: only those, numbered from the first (decision-0), where the summary of a refused form links to.
    decision.decision.choices = [choice for choice in decision.decision.choices if choice.value in offered]
    names = person_names(set(inn.assignments))
    # Whose assignment can no longer end: the domain's rule (tracker.evaluation.check_unassignable).
    assessed = {e for e in inn.assignments if assessed_this_round(inn, e)}
    page = render_template(
        "manager/round.html",
        inn=inn,
        owner=organisation_names({inn.organisation_id})[inn.organisation_id],
        candidates=candidates,
        assign=assign,
        unassign=UnassignForm(),
        decision=decision,
        offered=offered,
        names=names,
        assessed=assessed,
        requirements=[(r, requirement_text(r)) for r in gate_requirements(inn)],
        next_stage=next_stage(inn.stage) if inn.stage != STAGES[-1] else None,
        earlier_stages=recycle_targets(inn) if "recycle" in offered else [],
        decision_names=DECISION_NAMES,
        consolidated=inn.consolidated,
        **{k: v for k, v in forms.items() if k not in ("assign", "decision")},
    )
    return page, status


@blp.get("/manage/<uuid:innovation_id>")
@role_required(*MANAGERS)
def manage(innovation_id: UUID) -> Page:
    return _page(_innovation(innovation_id))


@blp.post("/manage/<uuid:innovation_id>/assignments")
@role_required(*MANAGERS)
def assign(innovation_id: UUID) -> Page:
    inn = _innovation(innovation_id)
    form = AssignForm()
    form.evaluator.choices = _choices(_candidates(inn))
    if not form.validate_on_submit():
        return _page(inn, refused_status(form), assign=form)
    person = services().people.get(UUID(form.evaluator.data))
    assert person is not None  # a choice of _candidates
    try:
        receipt = services().app.assign_evaluator(
            innovation_id,
            actor=signed_in().actor(),
            evaluator_id=str(person.id),
            evaluator_organisation_id=person.organisation_id,
            due_on=form.due_on.data,
        )
    except ValidationError as error:  # a field's value the domain refuses (a due date already past)
        if beside_field(form, error):
            return _page(inn, 422, assign=form)
        return _page(inn, 422, assign=form, refused=refusal(error))
    except DomainError as error:
        return _page(inn, 409, assign=form, refused=refusal(error))
    wrote(receipt.position)
    flash(_("%(name)s is assigned.", name=person.display_name), "success")
    return redirect(url_for("manager.manage", innovation_id=innovation_id))


@blp.post("/manage/<uuid:innovation_id>/assignments/<evaluator_id>/end")
@role_required(*MANAGERS)
def unassign(innovation_id: UUID, evaluator_id: str) -> Page:
    inn = _innovation(innovation_id)
    form = UnassignForm()
    if not form.validate_on_submit():
        return _page(
            inn,
            refused_status(form),
            refused=_("The form expired or was not sent from this site. Nothing was changed; send it again."),
        )
    try:
        receipt = services().app.unassign_evaluator(innovation_id, evaluator_id, actor=signed_in().actor())
    except DomainError as error:
        return _page(inn, 409, refused=refusal(error))
    wrote(receipt.position)
    flash(_("The assignment is ended."), "success")
    return redirect(url_for("manager.manage", innovation_id=innovation_id))


@blp.post("/manage/<uuid:innovation_id>/decision")
@role_required(*MANAGERS)
def decide(innovation_id: UUID) -> Page:
    inn = _innovation(innovation_id)
    form = DecisionForm()
    if not form.validate_on_submit():
        return _page(inn, refused_status(form), decision=form)
    read = read_version(form)
    try:
        receipt = services().app.decide_gate(
            innovation_id,
            actor=signed_in().actor(),
            decision=form.decision.data,
            rationale=form.rationale.data,
            to_stage=form.to_stage.data if form.decision.data == "recycle" else None,
            expected_version=read,
        )
    except VersionConflictError:
        form.version.data = str(inn.version)
        return _page(inn, 409, decision=form, stale=changes_since(inn, read or 0))
    except DomainError as error:
        return _page(inn, 409 if error.rule != "validation.rationale" else 422, decision=form, refused=refusal(error))
    wrote(receipt.position)
    flash(_("Decision recorded: %(decision)s.", decision=DECISION_NAMES[form.decision.data]), "success")
    return redirect(url_for("manager.manage", innovation_id=innovation_id))


def requirement_text(requirement: Requirement) -> str:
    """One line of the gate's checklist, in the reader's language, with the domain's figures."""
    figures = requirement.figures
    has = figures.get("has")
    shown = "–" if has is None else format_decimal(has)
    texts = {
        "gate.testing.assessment_required": _(
            "At least one assessment recorded in identification (has %(has)s).", has=shown
        ),
        "gate.development.pilot_outcome_required": _(
            "At least one pilot with a recorded outcome (has %(has)s).", has=shown
        ),
        "gate.assessment.evidence_required": _("At least one evidence item (has %(has)s).", has=shown),
        "gate.mainstreamed.evaluators_required": _(
            "Assessments from at least %(needs)s evaluators in the assessment stage (has %(has)s).",
            needs=figures.get("needs"),
            has=shown,
        ),
        "gate.mainstreamed.score_too_low": _(
            "A consolidated MPI of at least %(needs)s (is %(has)s).", needs=format_decimal(figures["needs"]), has=shown
        ),
        "gate.mainstreamed.criterion_too_low": _(
            "Every criterion's mean at least %(needs)s (below: %(below)s).",
            needs=format_decimal(figures["needs"]),
            below=", ".join(
                f"{CRITERIA[k][0]} {format_decimal(v)}" for k, v in sorted(figures.get("below", {}).items())
            )
            or "–",
        ),
        "gate.mainstreamed.third_evaluator_required": _(
            "A third evaluator where the scores differ by %(needs)s points or more (they differ by %(has)s).",
            needs=format_decimal(figures["needs"]),
            has=shown,
        ),
    }
    return texts.get(requirement.rule, requirement.message)


def refusal(error: DomainError) -> str:
    """The domain's refusal of an assignment or a decision, in the reader's language."""
    messages = {
        "assignment.conflict_of_interest": _("This evaluator has a conflict of interest with this innovation."),
        "assignment.duplicate": _("This evaluator is already assigned at this stage."),
        "assignment.already_assessed": _("This evaluator has already assessed at this stage; the assignment stays."),
        "not_found.assignment": _("This evaluator is not assigned at this stage."),
        "conflict_of_interest.owner": _("You may not decide on an innovation of your own organisation."),
        "conflict_of_interest.ecosystem_member": _("You may not decide on an innovation of your own ecosystem."),
        "decision.resume_requires_hold": _("Only an innovation on hold can be resumed."),
        "decision.recycle_requires_earlier_stage": _("Send it back to an earlier stage."),
        "hold.only_resume_or_discontinue": _("An innovation on hold can only be resumed or discontinued."),
        "terminal": _("This innovation takes no more decisions."),
        "validation.rationale": _("Give the reasons for the decision."),
        "validation.to_stage": _("Choose the stage to send it back to."),
    }
    if error.rule.startswith("gate."):
        return _("The gate is not met: see the checklist.")
    return messages.get(error.rule, _("Refused: %(reason)s", reason=error.message))
