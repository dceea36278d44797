"""Innovation: an idea moving identification → testing → development → assessment → mainstreamed."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, cast
from uuid import UUID

from tracker import items, limits, validation
from tracker.base import Context, TrackerAggregate
from tracker.errors import (
    DuplicateAdoptionError,
    InvalidDateError,
    NotFoundError,
    PilotError,
    ValidationError,
)
from tracker.gates import decision_event
from tracker.innovation_state import InnovationState
from tracker.rubric import CURRENT_RUBRIC, validate_comments, validate_scores
from tracker.rules import check_accepts, check_no_conflict_of_interest, clean_details
from tracker.stages import DECISIONS, EVIDENCE_KINDS, STAGES
from tracker.validation import choice, day, integer, number, required_text, text


class Innovation(TrackerAggregate, InnovationState):
    """The core aggregate; its state and what is read from it are in tracker.innovation_state."""

    # Version 1 kept assessments without comments; upcast_v1_v2 gives a snapshot's assessments none.
    class_version = 2

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        for assessment in state["assessments"]:
            assessment.setdefault("comments", {})

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
        if not details["themes"]:
            raise ValidationError("themes", "must name at least one theme")
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
            inn.status = "active"
            inn.stage_entered_at = self.timestamp
            inn.pilots = {}
            inn.evidence = []
            inn.assessments = []
            inn.adoptions = []
            inn.decisions = []

    def revise(self, ctx: Context, changes: dict[str, Any]) -> bool:
        """Record the fields that actually change; returns False when nothing changed."""
        check_accepts(self.status, "revise")
        if not changes:
            raise ValidationError("changes", "name at least one field to revise")
        cleaned = clean_details(changes)
        if "themes" in cleaned and not cleaned["themes"]:
            raise ValidationError("themes", "must name at least one theme")
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
        self._record(
            self.PilotStarted,
            ctx,
            pilot_id=pilot_id,
            site_organisation_id=site_organisation_id,
            started_on=day(started_on, "started_on", today=ctx.at.date()),
            planned_participants=integer(
                planned_participants,
                "planned_participants",
                low=limits.PARTICIPANTS.low,
                high=limits.PARTICIPANTS.high,
                required=False,
            ),
            description=text(description, "description", max_length=limits.TEXT_MAX, required=False),
        )

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
        ended = day(ended_on, "ended_on", today=ctx.at.date())
        assert ended is not None
        if ended < pilot["started_on"]:
            raise InvalidDateError("ended_on", "must not be before the pilot started", rule="validation.date.order")
        self._record(
            self.PilotOutcomeRecorded,
            ctx,
            pilot_id=pilot_id,
            ended_on=ended,
            participants=integer(
                participants, "participants", low=limits.PARTICIPANTS.low, high=limits.PARTICIPANTS.high
            ),
            completion_rate=number(
                completion_rate, "completion_rate", low=limits.COMPLETION_RATE.low, high=limits.COMPLETION_RATE.high
            ),
            satisfaction=number(
                satisfaction, "satisfaction", low=limits.SATISFACTION.low, high=limits.SATISFACTION.high, required=False
            ),
            notes=text(notes, "notes", max_length=limits.TEXT_MAX, required=False),
        )

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
        self._record(
            self.EvidenceAdded,
            ctx,
            evidence_id=evidence_id,
            kind=choice(kind, "kind", EVIDENCE_KINDS),
            title=required_text(title, "title", max_length=limits.NAME_MAX),
            url=validation.url(url, "url"),
            description=text(description, "description", max_length=limits.TEXT_MAX, required=False),
        )

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
        check_accepts(self.status, "record_adoption")
        if organisation_id == self.organisation_id:
            raise DuplicateAdoptionError(
                "the owning organisation cannot adopt its own innovation", rule="adoption.owner"
            )
        if any(a["organisation_id"] == organisation_id for a in self.adoptions):
            raise DuplicateAdoptionError(f"organisation {organisation_id} has already adopted this innovation")
        self._record(
            self.AdoptionRecorded,
            ctx,
            adoption_id=adoption_id,
            organisation_id=organisation_id,
            adopted_on=day(adopted_on, "adopted_on", today=ctx.at.date()),
            notes=text(notes, "notes", max_length=limits.TEXT_MAX, required=False),
        )

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
        check_accepts(self.status, "record_assessment")
        check_no_conflict_of_interest(ctx.actor.organisation_id, self.organisation_id, ecosystem_members, "assess")
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
            inn.assessments.append(items.assessment(self, inn.stage))

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

    def _enter_stage(self, stage: str, at: datetime) -> None:
        self.stage = stage
        self.stage_entered_at = at

    def _note_decision(self, decision: str, event: Any) -> None:
        self.decisions.append(items.decision(event, decision, self.stage, self.status))
