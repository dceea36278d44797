"""The evaluator's pages: their queue, and the assessment page with the dossier beside the rubric form.

What the evaluator may see follows access.policy (blind review: others' scores, the consolidated MPI and the notes
only once their own assessment of this round is in); the rubric's rules and the MPI are the domain's
(tracker.rubric), reached through the same use case as the JSON API."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import format_decimal, format_percent
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from access import policy
from pages.forms import NOT_ASSESSABLE, AssessmentForm, refused_status
from pages.loading import ecosystem_name, organisation_names, person_names, seen
from pages.refusals import sentence
from pages.session import Page, caught_up, role_required, signed_in, wrote
from pages.vocabulary import CRITERIA, LEVELS
from pages.writing import changes_since, read_version
from projections.queries.evaluation import QUEUE_STATES, queue
from tracker.errors import DomainError, InvalidScoresError, VersionConflictError
from tracker.rubric import CURRENT_RUBRIC, MIN_ASSESSABLE_WEIGHT, assessment_mpi, validate_scores
from web.services import services

blp = Blueprint("evaluator", __name__, template_folder="templates")


@blp.get("/queue")
@role_required("evaluator")
def my_queue() -> Page:
    state = request.args.get("state", "pending")
    if state not in QUEUE_STATES:
        state = "pending"
    visible = policy.scope(signed_in().viewer()).where
    items = queue(caught_up(), str(signed_in().person.id), state, visible=visible)
    return render_template("evaluation/queue.html", items=items, state=state, states=QUEUE_STATES)


@blp.get("/queue/next")
@role_required("evaluator")
def next_pending() -> Page:
    """The first pending assignment's assessment page (the queue's order: oldest due first)."""
    pending = queue(caught_up(), str(signed_in().person.id), "pending")
    if not pending:
        flash(_("Nothing is waiting for your assessment."), "info")
        return redirect(url_for("evaluator.my_queue"))
    return redirect(url_for("evaluator.assess", innovation_id=pending[0]["innovation_id"]))


def _dossier(inn: Any) -> dict[str, Any]:
    """What the assessment page shows beside the form, as the evaluator may see it."""
    viewer = signed_in().viewer()
    me = str(signed_in().person.id)
    shown = [a for a in inn.round_assessments() if policy.assessment_view(viewer, inn, a) == "full"]
    mine = next((a for a in shown if a["evaluator_id"] == me), None)
    others = [a for a in shown if a["evaluator_id"] != me]
    notes = inn.notes if policy.sees_notes(viewer, inn) else []
    organisations = {inn.organisation_id} | {p["site_organisation_id"] for p in inn.pilots.values()}
    organisations |= {a["organisation_id"] for a in inn.adoptions}
    return {
        "inn": inn,
        "organisation_names": organisation_names(organisations),
        "ecosystem": ecosystem_name(inn.ecosystem_id),
        "mine": mine,
        "others": others,
        "notes": notes,
        "names": person_names({a["evaluator_id"] for a in others} | {n["author_id"] for n in notes}),
        "blind": policy.mpi_hidden(viewer, inn),
        "consolidated": None if policy.mpi_hidden(viewer, inn) else inn.consolidated,
        "assigned": me in inn.assignments,
        "assignment": inn.assignments.get(me),
    }


def _prefilled(mine: dict[str, Any] | None, version: int) -> AssessmentForm:
    """The form as sent, or (on first opening) with the evaluator's own latest assessment in this round."""
    if request.method == "POST" or mine is None:
        form = AssessmentForm()
    else:
        data: dict[str, Any] = {"rationale": mine["rationale"]}
        for key in CURRENT_RUBRIC.keys:
            score = mine["scores"].get(key)
            data[f"score_{key}"] = NOT_ASSESSABLE if score is None else str(score)
            data[f"comment_{key}"] = mine["comments"].get(key, "")
        form = AssessmentForm(data=data)
    if request.method != "POST":
        form.version.data = str(version)
    return form


def _millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _render(dossier: dict[str, Any], form: AssessmentForm, status: int = 200, **extra: Any) -> Page:
    mine = dossier["mine"]
    page = render_template(
        "evaluation/assess.html",
        form=form,
        # For assess.js's draft: when this page was served, and when the evaluator's assessment of this round was
        # recorded (both by this server's clock), so a draft begun before that assessment is dropped.
        served_at=_millis(datetime.now(UTC)),
        mine_at=_millis(mine["recorded_at"]) if mine else "",
        # While the evaluator types, a request at least this often keeps their session from lapsing.
        keep_alive_ms=services().settings.session_idle_minutes * 60_000 // 3,
        criteria=[(c, CRITERIA[c.key]) for c in CURRENT_RUBRIC.criteria],
        levels=LEVELS,
        not_assessable=NOT_ASSESSABLE,
        **dossier,
        **extra,
    )
    return page, status


@blp.route("/assess/<uuid:innovation_id>", methods=["GET", "POST"])
@role_required("evaluator")
def assess(innovation_id: UUID) -> Page:
    inn = seen(innovation_id)
    dossier = _dossier(inn)
    form = _prefilled(dossier["mine"], inn.version)
    if request.method == "GET":
        return _render(dossier, form)
    if not form.validate_on_submit():
        return _render(dossier, form, refused_status(form))
    read = read_version(form)
    try:
        receipt = services().app.record_assessment(
            innovation_id,
            actor=signed_in().actor(),
            scores=form.scores(),
            comments=form.comments(),
            rationale=form.rationale.data,
            expected_version=read,
        )
    except VersionConflictError:
        # Someone changed the innovation since the evaluator opened it: say what changed, keep what they typed, and
        # let them send it again against the current version.
        changes = changes_since(inn, read or 0)
        form.version.data = str(inn.version)
        return _render(dossier, form, 409, stale=changes)
    except DomainError as error:
        status = 422 if isinstance(error, InvalidScoresError) else 409
        return _render(dossier, form, status, refused=_refusal(error))
    wrote(receipt.position)
    mpi = receipt.recorded["mpi"] if receipt.recorded else None
    flash(_("Your assessment is recorded. Its MPI is %(mpi)s.", mpi=format_decimal(mpi)), "success")
    return redirect(url_for("evaluator.assess", innovation_id=innovation_id))


def _refusal(error: DomainError) -> str:
    """The domain's refusal, in the reader's language."""
    messages = {
        "scores.too_little_assessable": _(
            "Mark fewer criteria as not assessable: the criteria you assess must carry at least %(share)s of the "
            "rubric's weight.",
            share=format_percent(MIN_ASSESSABLE_WEIGHT),
        ),
        "scores.none_assessable": _("Assess at least one criterion."),
        "assessment.not_assigned": _("You are not assigned to this innovation at its current stage."),
        "conflict_of_interest": _("You may not assess this innovation: your organisation takes part in it."),
        "terminal": _("This innovation takes no more assessments."),
        "hold.only_resume_or_discontinue": _("This innovation is on hold and takes no assessments now."),
    }
    found = messages.get(error.rule) or sentence(error)
    return found or _("The assessment was refused: %(reason)s", reason=error.message)


@blp.get("/rubric/preview")
@role_required("evaluator")
def preview() -> Response:
    """The MPI of the scores in the query, by the domain's rubric (the assessment page's live preview)."""
    scores: dict[str, Any] = {}
    for key in CURRENT_RUBRIC.keys:
        value = request.args.get(key, "")
        if value == "":
            return jsonify({"mpi": None, "message": _("Choose a level for every criterion to see the MPI.")})
        # Only ASCII digits are a level ("²".isdigit() is true, and int() refuses it); anything else is left for the
        # rubric to refuse.
        scores[key] = None if value == NOT_ASSESSABLE else int(value) if value.isascii() and value.isdigit() else value
    try:
        valid = validate_scores(scores)
    except InvalidScoresError as error:
        return jsonify({"mpi": None, "message": _refusal(error)})
    mpi = assessment_mpi(valid)
    return jsonify({"mpi": mpi, "message": _("MPI of this assessment: %(mpi)s", mpi=format_decimal(mpi))})
