"""Innovation: an idea moving identification → testing → development → assessment → mainstreamed."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any, cast
from uuid import UUID

from tracker.base import Context, TrackerAggregate
from tracker.errors import (
    ConflictOfInterestError,
    DuplicateAdoptionError,
    GateNotMetError,
    IllegalDecisionError,
    InnovationOnHoldError,
    InvalidDateError,
    NotFoundError,
    PilotError,
    TerminalStateError,
    ValidationError,
)
from tracker.rubric import (
    CURRENT_RUBRIC,
    RUBRICS,
    Consolidated,
    assessment_mpi,
    consolidate,
    criterion_means,
    validate_scores,
)
from tracker.stages import DECISIONS, EVIDENCE_KINDS, STAGES, next_stage, stage_index
from tracker.validation import choice, day, integer, labels, number, required_text, text, url

MAINSTREAM_MIN_EVALUATORS = 2
MAINSTREAM_MIN_SCORE = 60.0
MAINSTREAM_MIN_CRITERION_MEAN = 2.0
MAINSTREAM_MAX_SPREAD = 30.0
MAINSTREAM_TIEBREAK_EVALUATORS = 3
REVISABLE = ("title", "summary", "themes", "target_groups", "readiness_level")


def clean_details(fields: dict[str, Any]) -> dict[str, Any]:
    """Validate the revisable details; only the keys given are checked and returned."""
    checks = {
        "title": lambda v: required_text(v, "title", max_length=300),
        "summary": lambda v: required_text(v, "summary", max_length=5000),
        "themes": lambda v: labels(v, "themes"),
        "target_groups": lambda v: labels(v, "target_groups"),
        "readiness_level": lambda v: integer(v, "readiness_level", low=1, high=9, required=False),
    }
    unknown = set(fields) - set(checks)
    if unknown:
        raise ValidationError(sorted(unknown)[0], "cannot be revised")
    return {key: checks[key](value) for key, value in fields.items()}


class Innovation(TrackerAggregate):
    if TYPE_CHECKING:
        title: str
        summary: str
        themes: list[str]
        target_groups: list[str]
        organisation_id: UUID
        ecosystem_id: UUID | None
        readiness_level: int | None
        stage: str
        status: str
        stage_entered_at: datetime
        pilots: dict[str, dict[str, Any]]
        evidence: list[dict[str, Any]]
        assessments: list[dict[str, Any]]
        adoptions: list[dict[str, Any]]
        decisions: list[dict[str, Any]]

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
        self.check_accepts("revise")
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
        self.check_accepts("start_pilot")
        self._record(
            self.PilotStarted,
            ctx,
            pilot_id=pilot_id,
            site_organisation_id=site_organisation_id,
            started_on=day(started_on, "started_on", today=ctx.at.date()),
            planned_participants=integer(
                planned_participants, "planned_participants", low=0, high=1_000_000, required=False
            ),
            description=text(description, "description", max_length=5000, required=False),
        )

    class PilotStarted(TrackerAggregate.Event):
        pilot_id: UUID
        site_organisation_id: UUID
        started_on: date
        planned_participants: int | None
        description: str | None

        def apply(self, aggregate: Any) -> None:
            cast(Innovation, aggregate).pilots[self.pilot_id.hex] = {
                "pilot_id": self.pilot_id,
                "site_organisation_id": self.site_organisation_id,
                "started_on": self.started_on,
                "planned_participants": self.planned_participants,
                "description": self.description,
                "stage": cast(Innovation, aggregate).stage,
                "outcome": None,
            }

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
        self.check_accepts("record_pilot_outcome")
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
            participants=integer(participants, "participants", low=0, high=1_000_000),
            completion_rate=number(completion_rate, "completion_rate", low=0, high=1),
            satisfaction=number(satisfaction, "satisfaction", low=0, high=5, required=False),
            notes=text(notes, "notes", max_length=5000, required=False),
        )

    class PilotOutcomeRecorded(TrackerAggregate.Event):
        pilot_id: UUID
        ended_on: date
        participants: int
        completion_rate: float
        satisfaction: float | None
        notes: str | None

        def apply(self, aggregate: Any) -> None:
            cast(Innovation, aggregate).pilots[self.pilot_id.hex]["outcome"] = {
                "ended_on": self.ended_on,
                "participants": self.participants,
                "completion_rate": self.completion_rate,
                "satisfaction": self.satisfaction,
                "notes": self.notes,
                "recorded_at": self.timestamp,
            }

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
        self.check_accepts("add_evidence")
        self._record(
            self.EvidenceAdded,
            ctx,
            evidence_id=evidence_id,
            kind=choice(kind, "kind", EVIDENCE_KINDS),
            title=required_text(title, "title", max_length=300),
            url=_url(url),
            description=text(description, "description", max_length=5000, required=False),
        )

    class EvidenceAdded(TrackerAggregate.Event):
        evidence_id: UUID
        kind: str
        title: str
        url: str | None
        description: str | None

        def apply(self, aggregate: Any) -> None:
            inn = cast(Innovation, aggregate)
            inn.evidence.append(
                {
                    "evidence_id": self.evidence_id,
                    "kind": self.kind,
                    "title": self.title,
                    "url": self.url,
                    "description": self.description,
                    "stage": inn.stage,
                    "added_at": self.timestamp,
                    "added_by": self.actor_id,
                }
            )

    def record_adoption(
        self,
        ctx: Context,
        *,
        adoption_id: UUID,
        organisation_id: UUID,
        adopted_on: date | str,
        notes: str | None = None,
    ) -> None:
        self.check_accepts("record_adoption")
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
            notes=text(notes, "notes", max_length=5000, required=False),
        )

    class AdoptionRecorded(TrackerAggregate.Event):
        adoption_id: UUID
        organisation_id: UUID
        adopted_on: date
        notes: str | None

        def apply(self, aggregate: Any) -> None:
            cast(Innovation, aggregate).adoptions.append(
                {
                    "adoption_id": self.adoption_id,
                    "organisation_id": self.organisation_id,
                    "adopted_on": self.adopted_on,
                    "notes": self.notes,
                    "recorded_at": self.timestamp,
                }
            )

    # ---- assessments -------------------------------------------------------------------

    def record_assessment(
        self,
        ctx: Context,
        *,
        assessment_id: UUID,
        scores: dict[str, int | None],
        rationale: str,
        ecosystem_members: frozenset[UUID] = frozenset(),
    ) -> None:
        self.check_accepts("record_assessment")
        self.check_no_conflict_of_interest(ctx, ecosystem_members, "assess")
        self._record(
            self.AssessmentRecorded,
            ctx,
            assessment_id=assessment_id,
            evaluator_organisation_id=ctx.actor.organisation_id,
            rubric_version=CURRENT_RUBRIC.version,
            scores=validate_scores(scores),
            rationale=required_text(rationale, "rationale", max_length=5000),
        )

    class AssessmentRecorded(TrackerAggregate.Event):
        assessment_id: UUID
        evaluator_organisation_id: UUID | None
        rubric_version: int
        scores: dict[str, int | None]
        rationale: str

        def apply(self, aggregate: Any) -> None:
            inn = cast(Innovation, aggregate)
            inn.assessments.append(
                {
                    "assessment_id": self.assessment_id,
                    "evaluator_id": self.actor_id,
                    "evaluator_organisation_id": self.evaluator_organisation_id,
                    "rubric_version": self.rubric_version,
                    "scores": dict(self.scores),
                    "mpi": assessment_mpi(self.scores, RUBRICS[self.rubric_version]),
                    "rationale": self.rationale,
                    "stage": inn.stage,
                    "recorded_at": self.timestamp,
                }
            )

    def latest_assessments(self, stage: str | None = None) -> list[dict[str, Any]]:
        """Each evaluator's latest assessment (optionally among those made in one stage)."""
        latest: dict[str, dict[str, Any]] = {}
        for assessment in self.assessments:
            if stage is None or assessment["stage"] == stage:
                latest[assessment["evaluator_id"]] = assessment
        return list(latest.values())

    @property
    def consolidated(self) -> Consolidated | None:
        return consolidate(a["mpi"] for a in self.latest_assessments())

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
        self.check_accepts(decision)
        self.check_no_conflict_of_interest(ctx, ecosystem_members, "decide on")
        why = required_text(rationale, "rationale", max_length=5000)
        if to_stage is not None and decision != "recycle":
            raise ValidationError("to_stage", "is only for recycle decisions")
        if decision == "advance":
            self.check_gate()
            self._record(self.Advanced, ctx, from_stage=self.stage, to_stage=next_stage(self.stage), rationale=why)
        elif decision == "hold":
            self._record(self.PutOnHold, ctx, stage=self.stage, rationale=why)
        elif decision == "resume":
            if self.status != "on_hold":
                raise IllegalDecisionError(
                    "only an innovation on hold can be resumed", rule="decision.resume_requires_hold"
                )
            self._record(self.Resumed, ctx, stage=self.stage, rationale=why)
        elif decision == "recycle":
            target = choice(to_stage, "to_stage", STAGES)
            if stage_index(target) >= stage_index(self.stage):
                raise IllegalDecisionError(
                    f"recycle must go back to a stage before {self.stage}",
                    rule="decision.recycle_requires_earlier_stage",
                )
            self._record(self.Recycled, ctx, from_stage=self.stage, to_stage=target, rationale=why)
        else:
            self._record(self.Discontinued, ctx, stage=self.stage, rationale=why)

    def check_gate(self) -> None:
        """Refuse `advance` with an error naming the unmet requirement."""
        target = next_stage(self.stage)
        if target == "testing" and not any(a["stage"] == "identification" for a in self.assessments):
            raise GateNotMetError(
                "advancing to testing needs at least one assessment recorded in identification",
                rule="gate.testing.assessment_required",
            )
        if target == "development" and not any(p["outcome"] is not None for p in self.pilots.values()):
            raise GateNotMetError(
                "advancing to development needs at least one pilot with a recorded outcome",
                rule="gate.development.pilot_outcome_required",
            )
        if target == "assessment" and not self.evidence:
            raise GateNotMetError(
                "advancing to assessment needs at least one evidence item", rule="gate.assessment.evidence_required"
            )
        if target == "mainstreamed":
            self.check_mainstreaming_gate()

    def check_mainstreaming_gate(self) -> None:
        latest = self.latest_assessments(stage="assessment")
        if len(latest) < MAINSTREAM_MIN_EVALUATORS:
            raise GateNotMetError(
                f"mainstreaming needs assessments from at least {MAINSTREAM_MIN_EVALUATORS} distinct evaluators "
                f"in the assessment stage (has {len(latest)})",
                rule="gate.mainstreamed.evaluators_required",
            )
        score = consolidate(a["mpi"] for a in latest)
        assert score is not None
        if score.value < MAINSTREAM_MIN_SCORE:
            raise GateNotMetError(
                f"mainstreaming needs a consolidated score of at least {MAINSTREAM_MIN_SCORE:g} (is {score.value:g})",
                rule="gate.mainstreamed.score_too_low",
            )
        low = {
            k: v for k, v in criterion_means(a["scores"] for a in latest).items() if v < MAINSTREAM_MIN_CRITERION_MEAN
        }
        if low:
            names = ", ".join(f"{k} ({v:.2f})" for k, v in sorted(low.items()))
            raise GateNotMetError(
                f"mainstreaming needs every criterion mean at least {MAINSTREAM_MIN_CRITERION_MEAN:g}; below: {names}",
                rule="gate.mainstreamed.criterion_too_low",
            )
        if score.spread >= MAINSTREAM_MAX_SPREAD and len(latest) < MAINSTREAM_TIEBREAK_EVALUATORS:
            raise GateNotMetError(
                f"the evaluators' scores differ by {score.spread:g} points (30 or more): "
                "a third evaluator must assess before mainstreaming",
                rule="gate.mainstreamed.third_evaluator_required",
            )

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
        self.decisions.append(
            {
                "decision": decision,
                "stage": self.stage,
                "status": self.status,
                "rationale": event.rationale,
                "decided_by": event.actor_id,
                "decided_at": event.timestamp,
            }
        )

    # ---- rules shared by every command -------------------------------------------------

    def check_accepts(self, command: str) -> None:
        """Discontinued takes nothing; on hold takes resume/discontinue; mainstreamed takes evidence/adoptions."""
        if self.status == "discontinued":
            raise TerminalStateError(
                "a discontinued innovation accepts no further changes", rule="terminal.discontinued"
            )
        if self.status == "on_hold" and command not in ("resume", "discontinue"):
            raise InnovationOnHoldError("an innovation on hold accepts only resume and discontinue")
        if self.status == "mainstreamed" and command not in ("add_evidence", "record_adoption"):
            raise TerminalStateError(
                "a mainstreamed innovation accepts only evidence and adoptions", rule="terminal.mainstreamed"
            )

    def check_no_conflict_of_interest(self, ctx: Context, ecosystem_members: frozenset[UUID], verb: str) -> None:
        org = ctx.actor.organisation_id
        if org is None:
            return
        if org == self.organisation_id:
            raise ConflictOfInterestError(
                f"an evaluator from the owning organisation may not {verb} this innovation",
                rule="conflict_of_interest.owner",
            )
        if org in ecosystem_members:
            raise ConflictOfInterestError(
                f"an evaluator from a member of the innovation's ecosystem may not {verb} this innovation",
                rule="conflict_of_interest.ecosystem_member",
            )


def _url(value: str | None) -> str | None:
    return url(value, "url")
