"""The rules of an evaluation round: who may be assigned, who may assess, who may write a deliberation note.

A round is one visit of a stage (`stage_seq`): an evaluator assigned while the innovation is in testing assesses it
in testing, a gate decision that moves the innovation to another stage ends the round's assignments, and an
innovation recycled back to a stage it was in before starts a new round there, blind again for whoever is assigned
to it."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID

from tracker import limits
from tracker.actors import Actor
from tracker.errors import AssessmentError, AssignmentError, InvalidDateError, NoteError, NotFoundError, ValidationError
from tracker.rules import check_accepts, check_no_conflict_of_interest
from tracker.stages import STAGES
from tracker.validation import day, required_text

if TYPE_CHECKING:
    from tracker.innovation_state import InnovationState


# The decisions that take an innovation into another stage, and so begin a visit of it (a round).
STAGE_CHANGES = ("advance", "recycle")


def has_assessed(innovation: InnovationState, person_id: str, stage_seq: int) -> bool:
    """Whether the person recorded an assessment of the innovation in its visit `stage_seq` of a stage."""
    return any(a["evaluator_id"] == person_id and a["stage_seq"] == stage_seq for a in innovation.assessments)


def assessed_this_round(innovation: InnovationState, person_id: str) -> bool:
    """Whether the person's assessment of the current round (this visit of the current stage) is in."""
    return has_assessed(innovation, person_id, innovation.stage_seq)


def deliberates(innovation: InnovationState, person_id: str) -> bool:
    """An evaluator assigned in the current round whose own assessment in it is in: they may read the others'
    scores, the consolidated MPI and the notes, and write notes."""
    return person_id in innovation.assignments and assessed_this_round(innovation, person_id)


def blind(innovation: InnovationState, person_id: str) -> bool:
    """An evaluator assigned in the current round who has not assessed in it yet (blind review), even if they
    assessed the same stage in an earlier visit of it."""
    return person_id in innovation.assignments and not assessed_this_round(innovation, person_id)


def number_visits(state: dict[str, Any]) -> None:
    """Give a snapshot's state taken before visits were numbered its `stage_seq`, and each assessment the visit it
    belongs to. The events number them exactly on replay; a snapshot keeps only times, so an assessment goes to the
    latest visit of its stage begun at or before it was recorded (else the first visit of its stage)."""
    entries = [(d["decided_at"], d["stage"]) for d in state["decisions"] if d["decision"] in STAGE_CHANGES]
    state["stage_seq"] = 1 + len(entries)
    visits = [(None, STAGES[0]), *entries]
    for assessment in state["assessments"]:
        of_stage = [seq for seq, (_, stage) in enumerate(visits, 1) if stage == assessment["stage"]]
        begun = [seq for seq in of_stage if seq == 1 or visits[seq - 1][0] <= assessment["recorded_at"]]
        assessment["stage_seq"] = begun[-1] if begun else (of_stage[0] if of_stage else state["stage_seq"])


# The earliest time zone's offset from UTC (UTC−12): where today began last.
EARLIEST_UTC_OFFSET = timedelta(hours=12)


def assignment_fields(
    innovation: InnovationState,
    *,
    evaluator_id: str,
    evaluator_organisation_id: UUID | None,
    due_on: date | str | None = None,
    ecosystem_members: frozenset[UUID] = frozenset(),
    at: datetime | None = None,
) -> dict[str, Any]:
    """The fields of an assignment made at `at`, at the current stage, or the rule that refuses it. A due date is not
    before the day the assignment is made, as the earliest time zone counts it (a manager west of UTC may give their
    own today in their evening): an assignment due already would be overdue from the start."""
    check_accepts(innovation.status, "assign_evaluator")
    check_no_conflict_of_interest(
        evaluator_organisation_id,
        innovation.organisation_id,
        ecosystem_members,
        "be assigned to",
        rule="assignment.conflict_of_interest",
    )
    if evaluator_id in innovation.assignments:
        raise AssignmentError(
            f"evaluator {evaluator_id} is already assigned at stage {innovation.stage}", rule="assignment.duplicate"
        )
    due = day(due_on, "due_on", required=False)
    today = (at - EARLIEST_UTC_OFFSET).date() if at is not None else None
    if due is not None and today is not None and due < today:
        raise InvalidDateError("due_on", f"must not be before today ({today.isoformat()})", rule="validation.date.past")
    return {
        "evaluator_id": evaluator_id,
        "evaluator_organisation_id": evaluator_organisation_id,
        "stage": innovation.stage,
        "due_on": due,
    }


def check_unassignable(innovation: InnovationState, evaluator_id: str) -> None:
    """An evaluator is unassigned only while assigned, and not once they assessed in this round."""
    check_accepts(innovation.status, "unassign_evaluator")
    if evaluator_id not in innovation.assignments:
        raise NotFoundError("assignment", f"of {evaluator_id} at stage {innovation.stage}")
    if assessed_this_round(innovation, evaluator_id):
        raise AssignmentError(
            f"evaluator {evaluator_id} has already assessed at stage {innovation.stage}",
            rule="assignment.already_assessed",
        )


def check_may_assess(innovation: InnovationState, actor: Actor, ecosystem_members: frozenset[UUID]) -> None:
    """Only an evaluator assigned at the current stage assesses, and the conflict of interest is checked again (the
    evaluator's organisation may have joined the innovation's ecosystem since the assignment)."""
    check_accepts(innovation.status, "record_assessment")
    if actor.id not in innovation.assignments:
        raise AssessmentError(
            f"you are not assigned to assess this innovation at stage {innovation.stage}",
            rule="assessment.not_assigned",
        )
    check_no_conflict_of_interest(actor.organisation_id, innovation.organisation_id, ecosystem_members, "assess")


def note_fields(innovation: InnovationState, actor: Actor, body: str, reply_to: UUID | None) -> dict[str, Any]:
    """A deliberation note: managers and admins write any time; an evaluator once assigned and assessed at the
    current stage. Replies go one level deep."""
    check_accepts(innovation.status, "add_note")
    if actor.role == "evaluator" and not deliberates(innovation, actor.id):
        raise NoteError(
            "an evaluator writes notes once assigned and assessed in the current round", rule="note.assess_first"
        )
    if reply_to is not None:
        parent = next((n for n in innovation.notes if n["note_id"] == reply_to), None)
        if parent is None:
            raise ValidationError("reply_to", "names no note of this innovation", rule="note.reply_to_unknown")
        if parent["reply_to"] is not None:
            raise ValidationError("reply_to", "replies go one level deep: reply to the first note", rule="note.depth")
    return {
        "body": required_text(body, "body", max_length=limits.TEXT_MAX),
        "reply_to": reply_to,
        "stage": innovation.stage,
    }
