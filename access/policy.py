"""Who sees what: the one place that decides what a caller may read (API.md, "Who sees what").

- Admins, managers and analysts read everything.
- An innovation in identification is seen only by them, its owning organisation's providers and the evaluators
  assigned to it; past identification every caller sees its fields, stage, status, items and decisions.
- An evaluator assigned in the current round sees the consolidated MPI and score history only once their own
  assessment in that round is in (blind review). A round is one visit of a stage (tracker.evaluation).
- Individual assessments: an evaluator sees their own, and the others' of a round once they assessed in it; the
  owning organisation's providers see a round's assessments once a gate decision closed it, without evaluator ids.
- Notes: admins, managers, analysts, and an evaluator assigned in the current round who has assessed in it.

For lists, totals and CSV the rules are SQL (`scope`), so paging and counting stay right; for one replayed innovation
(its history, a past version) the same rules are read from the aggregate."""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any
from uuid import UUID

from sqlalchemy import exists, false, func, literal, or_, select

from projections import tables as t
from projections.queries import EVERYTHING, Scope
from tracker import evaluation
from tracker.actors import READ_ALL_ROLES
from tracker.stages import CONFIDENTIAL_STAGES, PUBLIC_STAGES


@dataclass(frozen=True)
class Viewer:
    """The caller as the policy sees them: a person id (as events carry it), a role and an organisation."""

    person_id: str
    role: str
    organisation_id: UUID | None

    @classmethod
    def of(cls, principal: Any) -> Viewer:
        return cls(str(principal.person_id), principal.role, principal.organisation_id)

    @property
    def reads_all(self) -> bool:
        return self.role in READ_ALL_ROLES

    def owns(self, organisation_id: UUID) -> bool:
        return self.role == "provider" and self.organisation_id == organisation_id

    @property
    def reads_audit(self) -> bool:
        return self.reads_all

    def acts_for(self, organisation_id: UUID) -> bool:
        """Whether the viewer writes for this organisation: its innovations' details, pilots and evidence, and its
        adoptions. Providers act for their own organisation only; admins for any."""
        return self.role == "admin" or self.owns(organisation_id)


# ---- SQL: lists, totals, CSV, analytics, one projected innovation ------------------------------------------------


@lru_cache(maxsize=4096)
def scope(viewer: Viewer) -> Scope:
    """What the viewer may see of `rm_innovations`, as SQL: the same rules as `sees_innovation` and `mpi_hidden`
    (tracker.evaluation's `blind`), over the projected assignments, assessments and grants. The clauses depend only
    on the viewer, so each viewer's are built once and reused (SQL constructs are immutable)."""
    if viewer.reads_all:
        return EVERYTHING
    i, a, s = t.innovations, t.assignments, t.assessments
    public, private = i.c.stage.in_(PUBLIC_STAGES), i.c.stage.in_(CONFIDENTIAL_STAGES)
    if viewer.role == "provider":
        own = i.c.organisation_id == viewer.organisation_id
        return Scope(
            where=or_(public, own),
            public=public,
            private=private,
            granted=own,
            granted_total=select(func.count()).select_from(i).where(private, own),
            then=lambda stage: or_(stage.in_(PUBLIC_STAGES), own),
        )
    if viewer.role != "evaluator":
        return Scope(where=false())
    me = literal(viewer.person_id)
    g = t.grants
    # "Assigned to the innovation" (`was_assigned`) for an innovation in a confidential stage, kept as rows by
    # projections.grants: what an evaluator may see is the public stages and their grants, and counting the
    # confidential part of a list reads their grants from one index range, however many innovations they assessed.
    granted = exists().where(g.c.evaluator_id == me, g.c.innovation_id == i.c.id)
    granted_in = i.c.id.in_(select(g.c.innovation_id).where(g.c.evaluator_id == me))
    # The same rule for an innovation in any stage, for the portfolio as it stood at an instant: assigned at the
    # current stage, or has assessed it. Each test is one index probe per row. They sit two queries deep (inside
    # Scope.as_of's test of the stage then), where SQLAlchemy's automatic correlation, which looks one level out
    # only, would take `rm_innovations` into their own FROM and ask about any innovation: correlated by name.
    assigned_now = (
        exists().where(a.c.evaluator_id == me, a.c.innovation_id == i.c.id, a.c.seq == i.c.stage_seq).correlate(i)
    )
    assessed = exists().where(s.c.evaluator_id == me, s.c.innovation_id == i.c.id).correlate(i)
    # Blind review (`evaluation.blind`): assigned in the current round (this visit of the stage, `stage_seq`) and
    # not assessed in it. Only an evaluator assigned in the round assesses in it, and their assessment marks the
    # assignment assessed, so their open assignment of this visit (the queue's index) is the whole test: an
    # assessment of the same stage in an earlier visit does not count.
    open_now = exists().where(
        a.c.evaluator_id == me, a.c.assessed_at.is_(None), a.c.innovation_id == i.c.id, a.c.seq == i.c.stage_seq
    )
    return Scope(
        where=or_(public, granted),
        mpi_hidden=open_now,
        public=public,
        private=private,
        granted=granted_in,
        granted_total=select(func.count()).select_from(g).where(g.c.evaluator_id == me),
        then=lambda stage: or_(stage.in_(PUBLIC_STAGES), assigned_now, assessed),
    )


def assignments_visible(viewer: Viewer) -> Any:
    """Which `rm_assignments` rows the viewer may list: all, or (an evaluator) their own."""
    a = t.assignments
    if viewer.reads_all:
        return None
    return a.c.evaluator_id == viewer.person_id


# ---- one replayed innovation: its history, a past version, its assessments and notes ---------------------------


def sees_innovation(viewer: Viewer, innovation: Any, stage: str | None = None) -> bool:
    """Whether the viewer may see the innovation (as it stood in `stage`, for a past version)."""
    if viewer.reads_all or viewer.owns(innovation.organisation_id):
        return True
    if (stage or innovation.stage) not in CONFIDENTIAL_STAGES:
        return True
    return viewer.role == "evaluator" and was_assigned(viewer, innovation)


def was_assigned(viewer: Viewer, innovation: Any) -> bool:
    """Whether the evaluator is assigned to the innovation: at its current stage, or they have assessed it."""
    return viewer.person_id in innovation.assignments or any(
        a["evaluator_id"] == viewer.person_id for a in innovation.assessments
    )


def mpi_hidden(viewer: Viewer, innovation: Any) -> bool:
    """Blind review: an evaluator assigned at the current stage who has not assessed at it yet."""
    return viewer.role == "evaluator" and evaluation.blind(innovation, viewer.person_id)


def sees_notes(viewer: Viewer, innovation: Any) -> bool:
    return viewer.reads_all or (viewer.role == "evaluator" and evaluation.deliberates(innovation, viewer.person_id))


def closed(innovation: Any, assessment: dict[str, Any]) -> bool:
    """Whether a gate decision closed the round the assessment belongs to: the innovation has left that visit of the
    stage (advanced or recycled), or was discontinued in it."""
    return assessment["stage_seq"] < innovation.stage_seq or innovation.status == "discontinued"


def assessment_view(viewer: Viewer, innovation: Any, assessment: dict[str, Any]) -> str | None:
    """How the viewer may see one assessment: "full", "anonymous" (evaluator ids withheld), or None (not at all)."""
    if viewer.reads_all:
        return "full"
    if viewer.role == "evaluator":
        mine = assessment["evaluator_id"] == viewer.person_id
        if mine or evaluation.has_assessed(innovation, viewer.person_id, assessment["stage_seq"]):
            return "full"
        return None
    if viewer.owns(innovation.organisation_id) and closed(innovation, assessment):
        return "anonymous"
    return None


def sees_assignment(viewer: Viewer, evaluator_id: str) -> bool:
    """Assignments name evaluators: the roles that read all see them, an evaluator sees their own."""
    return viewer.reads_all or evaluator_id == viewer.person_id


def anonymous_numbers(viewer: Viewer, innovation: Any) -> dict[str, int]:
    """For the assessments the viewer reads without evaluator ids: each evaluator's number, 1, 2, … in the order
    they first assessed ("evaluator 1", "evaluator 2")."""
    numbers: dict[str, int] = {}
    for assessment in innovation.assessments:
        if assessment_view(viewer, innovation, assessment) == "anonymous":
            numbers.setdefault(assessment["evaluator_id"], len(numbers) + 1)
    return numbers


def visible_history(viewer: Viewer, innovation: Any, records: list[Any]) -> list[Any]:
    """The innovation's event records as the viewer may see them: assessments per `assessment_view` (anonymised
    for the owner: "evaluator 1", "evaluator 2" in order of first assessment), assignments per `sees_assignment`,
    notes per `sees_notes`; every other event as it is."""
    if viewer.reads_all:
        return records
    by_id = {a["assessment_id"]: a for a in innovation.assessments}
    numbers = anonymous_numbers(viewer, innovation)
    shown = []
    for record in records:
        if record.type in ("EvaluatorAssigned", "EvaluatorUnassigned"):
            if sees_assignment(viewer, record.data["evaluator_id"]):
                shown.append(record)
        elif record.type == "NoteAdded":
            if sees_notes(viewer, innovation):
                shown.append(record)
        elif record.type == "AssessmentRecorded":
            view = assessment_view(viewer, innovation, by_id[record.data["assessment_id"]])
            if view == "full":
                shown.append(record)
            elif view == "anonymous":
                data = {k: v for k, v in record.data.items() if k != "evaluator_organisation_id"}
                shown.append(anonymised(record, f"evaluator {numbers[record.actor_id]}", data))
        else:
            shown.append(record)
    return shown


def anonymised(record: Any, alias: str, data: dict[str, Any]) -> Any:
    return replace(record, actor_id=alias, actor_key=None, correlation_id=None, data=data)
