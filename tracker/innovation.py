"""Innovation: an idea moving identification → testing → development → assessment → mainstreamed."""

from __future__ import annotations

from datetime import date
from typing import Any, cast
from uuid import UUID

from tracker import items, limits
from tracker.base import Context, TrackerAggregate
from tracker.errors import NotFoundError, PilotError, ValidationError
from tracker.evaluation import assignment_fields, check_may_assess, check_unassignable, note_fields, number_visits
from tracker.fields import adoption as adoption_fields
from tracker.fields import evidence as evidence_fields
from tracker.fields import outcome as outcome_fields
from tracker.fields import pilot as pilot_fields
from tracker.gates import decision_event
from tracker.innovation_state import InnovationState
from tracker.rubric import CURRENT_RUBRIC, validate_comments, validate_scores
from tracker.rules import check_accepts, check_no_conflict_of_interest, clean_details
from tracker.stages import DECISIONS, STAGES
from tracker.validation import choice, required_text


def require_themes(themes: list[str]) -> None:
    """An innovation names at least one theme, when submitted and when revised."""
    if not themes:
        raise ValidationError("themes", "must name at least one theme", rule="validation.themes.required")


class Innovation(TrackerAggregate, InnovationState):
    """The core aggregate; its state and what is read from it are in tracker.innovation_state."""

    # Version 1 kept assessments without comments; version 2 had no assignments or notes; version 3 did not number
    # the visits of a stage. The upcasters bring a snapshot of any of them up to date.
    class_version = 4

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        for assessment in state["assessments"]:
            assessment.setdefault("comments", {})

    @staticmethod
    def upcast_v2_v3(state: dict[str, Any]) -> None:
        state["assignments"] = {}
        state["notes"] = []

    @staticmethod
    def upcast_v3_v4(state: dict[str, Any]) -> None:
        """Number the stage visits of a snapshot taken before they were counted."""
        number_visits(state)

    # ---- submission and details -------------------------------------------------------

    @classmethod
    def submit(
        cls,
        ctx: Context,
        *,
        id: UUID,  # noqa: A002
        title: str,
        summary: str,
        themes: list[str],
        organisation_id: UUID,
        ecosystem_id: UUID | None = None,
        target_groups: list[str] | None = None,
        readiness_level: int | None = None,
    ) -> Innovation:
        details = clean_details(
            {
                "title": title,
                "summary": summary,
                "themes": themes,
                "target_groups": target_groups or [],
                "readiness_level": readiness_level,
            }
        )
        require_themes(details["themes"])
        return cls._start(
            cls.Submitted, ctx, id=id, organisation_id=organisation_id, ecosystem_id=ecosystem_id, **details
        )

    class Submitted(TrackerAggregate.Created):
        # Version 1 had no target groups; upcast_v1_v2 gives old events an empty list.
        class_version = 2

        title: str
        summary: str
        themes: list[str]
        target_groups: list[str]
        organisation_id: UUID
        ecosystem_id: UUID | None
        readiness_level: int | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["target_groups"] = []

        def apply(self, aggregate: Any) -> None:
            inn = cast(Innovation, aggregate)
            inn.title = self.title
            inn.summary = self.summary
            inn.themes = list(self.themes)
            inn.target_groups = list(self.target_groups)
            inn.organisation_id = self.organisation_id
            inn.ecosystem_id = self.ecosystem_id
            inn.readiness_level = self.readiness_level
            inn.stage = STAGES[0]
            inn.stage_seq = 1
            inn.status = "active"
            inn.stage_entered_at = self.timestamp
            inn.pilots = {}
            inn.evidence = []
            inn.assessments = []
            inn.adoptions = []
            inn.decisions = []
            inn.assignments = {}
            inn.notes = []

    def revise(self, ctx: Context, changes: dict[str, Any]) -> bool:
        """Record the fields that actually change; returns False when nothing changed."""
        check_accepts(self.status, "revise")
        if not changes:
            raise ValidationError("changes", "name at least one field to revise")
        cleaned = clean_details(changes)
        if "themes" in cleaned:
            require_themes(cleaned["themes"])
        changed = {k: v for k, v in cleaned.items() if getattr(self, k) != v}
        if not changed:
            return False
        self._record(self.DetailsRevised, ctx, changes=changed)
        return True

    class DetailsRevised(TrackerAggregate.Event):
        changes: dict[str, Any]

        def apply(self, aggregate: Any) -> None:
            for key, value in self.changes.items():
                setattr(aggregate, key, list(value) if isinstance(value, list) else value)

    # ---- pilots, evidence, adoptions ---------------------------------------------------

    def start_pilot(
        self,
        ctx: Context,
        *,
        pilot_id: UUID,
        site_organisation_id: UUID,
        started_on: date | str,
        planned_participants: int | None = None,
        description: str | None = None,
    ) -> None:
        check_accepts(self.status, "start_pilot")
        fields = pilot_fields(
            ctx.at.date(),
            started_on=started_on,
            planned_participants=planned_participants,
            description=description,
        )
        self._record(self.PilotStarted, ctx, pilot_id=pilot_id, site_organisation_id=site_organisation_id, **fields)

    class PilotStarted(TrackerAggregate.Event):
        pilot_id: UUID
        site_organisation_id: UUID
        started_on: date
        planned_participants: int | None
        description: str | None

        def apply(self, aggregate: Any) -> None:
            inn = cast(Innovation, aggregate)
            inn.pilots[self.pilot_id.hex] = items.pilot(self, inn.stage)

    def record_pilot_outcome(
        self,
        ctx: Context,
        *,
        pilot_id: UUID,
        ended_on: date | str,
        participants: int,
        completion_rate: float,
        satisfaction: float | None = None,
        notes: str | None = None,
    ) -> None:
        check_accepts(self.status, "record_pilot_outcome")
        pilot = self.pilots.get(pilot_id.hex)
        if pilot is None:
            raise NotFoundError("pilot", pilot_id)
        if pilot["outcome"] is not None:
            raise PilotError(f"pilot {pilot_id} already has an outcome", rule="pilot.outcome_already_recorded")
        fields = outcome_fields(
            ctx.at.date(),
            pilot["started_on"],
            ended_on=ended_on,
            participants=participants,
            completion_rate=completion_rate,
            satisfaction=satisfaction,
            notes=notes,
        )
        self._record(self.PilotOutcomeRecorded, ctx, pilot_id=pilot_id, **fields)

    class PilotOutcomeRecorded(TrackerAggregate.Event):
        pilot_id: UUID
        ended_on: date
        participants: int
        completion_rate: float
        satisfaction: float | None
        notes: str | None

        def apply(self, aggregate: Any) -> None:
            cast(Innovation, aggregate).pilots[self.pilot_id.hex]["outcome"] = items.outcome(self)

    def add_evidence(
        self,
        ctx: Context,
        *,
        evidence_id: UUID,
        kind: str,
        title: str,
        url: str | None = None,
        description: str | None = None,
    ) -> None:
        check_accepts(self.status, "add_evidence")
        fields = evidence_fields(kind=kind, title=title, url=url, description=description)
        self._record(self.EvidenceAdded, ctx, evidence_id=evidence_id, **fields)

    class EvidenceAdded(TrackerAggregate.Event):
        evidence_id: UUID
        kind: str
        title: str
        url: str | None
        description: str | None

        def apply(self, aggregate: Any) -> None:
            inn = cast(Innovation, aggregate)
            inn.evidence.append(items.evidence(self, inn.stage))

    def record_adoption(
        self,
        ctx: Context,
        *,
        adoption_id: UUID,
        organisation_id: UUID,
        adopted_on: date | str,
        notes: str | None = None,
    ) -> None:
        fields = adoption_fields(
            self, ctx.at.date(), organisation_id=organisation_id, adopted_on=adopted_on, notes=notes
        )
        self._record(self.AdoptionRecorded, ctx, adoption_id=adoption_id, **fields)

    class AdoptionRecorded(TrackerAggregate.Event):
        adoption_id: UUID
        organisation_id: UUID
        adopted_on: date
        notes: str | None

        def apply(self, aggregate: Any) -> None:
            cast(Innovation, aggregate).adoptions.append(items.adoption(self))

    # ---- assessments -------------------------------------------------------------------

    def record_assessment(
        self,
        ctx: Context,
        *,
        assessment_id: UUID,
        scores: dict[str, int | None],
        rationale: str,
        comments: dict[str, str | None] | None = None,
        ecosystem_members: frozenset[UUID] = frozenset(),
    ) -> None:
        check_may_assess(self, ctx.actor, ecosystem_members)
        self._record(
            self.AssessmentRecorded,
            ctx,
            assessment_id=assessment_id,
            evaluator_organisation_id=ctx.actor.organisation_id,
            rubric_version=CURRENT_RUBRIC.version,
            scores=validate_scores(scores),
            comments=validate_comments(comments),
            rationale=required_text(rationale, "rationale", max_length=limits.TEXT_MAX),
        )

    class AssessmentRecorded(TrackerAggregate.Event):
        # Version 1 had no comments; upcast_v1_v2 gives old events none.
        class_version = 2

        assessment_id: UUID
        evaluator_organisation_id: UUID | None
        rubric_version: int
        scores: dict[str, int | None]
        comments: dict[str, str]
        rationale: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["comments"] = {}

        def apply(self, aggregate: Any) -> None:
            inn = cast(Innovation, aggregate)
            inn.assessments.append(items.assessment(self, inn.stage, inn.stage_seq))

    # ---- evaluation rounds (the rules are in tracker.evaluation) -----------------------

    def assign_evaluator(self, ctx: Context, **assignment: Any) -> None:
        """Assign an evaluator at the current stage (evaluator_id, evaluator_organisation_id, due_on, members)."""
        self._record(self.EvaluatorAssigned, ctx, **assignment_fields(self, at=ctx.at, **assignment))

    class EvaluatorAssigned(TrackerAggregate.Event):
        evaluator_id: str
        evaluator_organisation_id: UUID | None
        stage: str
        due_on: date | None

        def apply(self, aggregate: Any) -> None:
            cast(Innovation, aggregate).assignments[self.evaluator_id] = items.assignment(self)

    def unassign_evaluator(self, ctx: Context, *, evaluator_id: str) -> None:
        check_unassignable(self, evaluator_id)
        self._record(self.EvaluatorUnassigned, ctx, evaluator_id=evaluator_id, stage=self.stage)

    class EvaluatorUnassigned(TrackerAggregate.Event):
        evaluator_id: str
        stage: str

        def apply(self, aggregate: Any) -> None:
            cast(Innovation, aggregate).assignments.pop(self.evaluator_id, None)

    def add_note(self, ctx: Context, *, note_id: UUID, body: str, reply_to: UUID | None = None) -> None:
        self._record(self.NoteAdded, ctx, note_id=note_id, **note_fields(self, ctx.actor, body, reply_to))

    class NoteAdded(TrackerAggregate.Event):
        note_id: UUID
        body: str
        reply_to: UUID | None
        stage: str

        def apply(self, aggregate: Any) -> None:
            cast(Innovation, aggregate).notes.append(items.note(self))

    # ---- gate decisions ----------------------------------------------------------------

    def decide(
        self,
        ctx: Context,
        *,
        decision: str,
        rationale: str,
        to_stage: str | None = None,
        ecosystem_members: frozenset[UUID] = frozenset(),
    ) -> None:
        decision = choice(decision, "decision", DECISIONS)
        check_accepts(self.status, decision)
        check_no_conflict_of_interest(ctx.actor.organisation_id, self.organisation_id, ecosystem_members, "decide on")
        why = required_text(rationale, "rationale", max_length=limits.TEXT_MAX)
        if to_stage is not None and decision != "recycle":
            raise ValidationError("to_stage", "is only for recycle decisions")
        event_class, fields = decision_event(self, decision, to_stage)
        self._record(event_class, ctx, rationale=why, **fields)

    class Advanced(TrackerAggregate.Event):
        from_stage: str
        to_stage: str
        rationale: str

        def apply(self, aggregate: Any) -> None:
            inn = cast(Innovation, aggregate)
            inn._enter_stage(self.to_stage, self.timestamp)
            if self.to_stage == "mainstreamed":
                inn.status = "mainstreamed"
            inn._note_decision("advance", self)

    class PutOnHold(TrackerAggregate.Event):
        stage: str
        rationale: str

        def apply(self, aggregate: Any) -> None:
            inn = cast(Innovation, aggregate)
            inn.status = "on_hold"
            inn._note_decision("hold", self)

    class Resumed(TrackerAggregate.Event):
        stage: str
        rationale: str

        def apply(self, aggregate: Any) -> None:
            inn = cast(Innovation, aggregate)
            inn.status = "active"
            inn._note_decision("resume", self)

    class Recycled(TrackerAggregate.Event):
        from_stage: str
        to_stage: str
        rationale: str

        def apply(self, aggregate: Any) -> None:
            inn = cast(Innovation, aggregate)
            inn._enter_stage(self.to_stage, self.timestamp)
            inn._note_decision("recycle", self)

    class Discontinued(TrackerAggregate.Event):
        stage: str
        rationale: str

        def apply(self, aggregate: Any) -> None:
            inn = cast(Innovation, aggregate)
            inn.status = "discontinued"
            inn._note_decision("discontinue", self)
