"""Gate decisions: what each decision records, and what an innovation needs before `advance` takes it on."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tracker.errors import GateNotMetError, IllegalDecisionError, ValidationError
from tracker.rubric import MAX_SPREAD, TIEBREAK_EVALUATORS, consolidate, criterion_means
from tracker.rules import check_accepts, holds
from tracker.stages import DECISIONS, STAGES, next_stage, stage_index
from tracker.validation import choice

if TYPE_CHECKING:
    from tracker.innovation import Innovation

MAINSTREAM_MIN_EVALUATORS = 2
MAINSTREAM_MIN_SCORE = 60.0
MAINSTREAM_MIN_CRITERION_MEAN = 2.0
MAINSTREAM_MAX_SPREAD = MAX_SPREAD
MAINSTREAM_TIEBREAK_EVALUATORS = TIEBREAK_EVALUATORS


@dataclass(frozen=True)
class Requirement:
    """One requirement of the gate an `advance` passes: its rule, whether it is met, and what it asks (with the
    figures a reader needs: what the innovation has, and what the gate needs)."""

    rule: str
    met: bool
    message: str
    figures: dict[str, Any] = field(default_factory=dict)


def gate_requirements(innovation: Innovation) -> list[Requirement]:
    """Every requirement of the gate out of the innovation's current stage, met or not, in the order they are
    checked (the managers' checklist; `check_gate` refuses with the first unmet one)."""
    target = next_stage(innovation.stage)
    if target == "testing":
        found = sum(1 for a in innovation.assessments if a["stage"] == "identification")
        return [
            Requirement(
                "gate.testing.assessment_required",
                found > 0,
                "advancing to testing needs at least one assessment recorded in identification",
                {"has": found, "needs": 1},
            )
        ]
    if target == "development":
        found = sum(1 for p in innovation.pilots.values() if p["outcome"] is not None)
        return [
            Requirement(
                "gate.development.pilot_outcome_required",
                found > 0,
                "advancing to development needs at least one pilot with a recorded outcome",
                {"has": found, "needs": 1},
            )
        ]
    if target == "assessment":
        return [
            Requirement(
                "gate.assessment.evidence_required",
                bool(innovation.evidence),
                "advancing to assessment needs at least one evidence item",
                {"has": len(innovation.evidence), "needs": 1},
            )
        ]
    if target == "mainstreamed":
        return mainstreaming_requirements(innovation)
    return []


def mainstreaming_requirements(innovation: Innovation) -> list[Requirement]:
    latest = innovation.latest_assessments(stage="assessment")
    score = consolidate(a["mpi"] for a in latest)
    value = score.value if score is not None else None
    spread = score.spread if score is not None else 0.0
    means = criterion_means(a["scores"] for a in latest)
    low = {k: v for k, v in means.items() if v < MAINSTREAM_MIN_CRITERION_MEAN}
    names = ", ".join(f"{k} ({v:.2f})" for k, v in sorted(low.items()))
    return [
        Requirement(
            "gate.mainstreamed.evaluators_required",
            len(latest) >= MAINSTREAM_MIN_EVALUATORS,
            f"mainstreaming needs assessments from at least {MAINSTREAM_MIN_EVALUATORS} distinct evaluators "
            f"in the assessment stage (has {len(latest)})",
            {"has": len(latest), "needs": MAINSTREAM_MIN_EVALUATORS},
        ),
        Requirement(
            "gate.mainstreamed.score_too_low",
            value is not None and value >= MAINSTREAM_MIN_SCORE,
            f"mainstreaming needs a consolidated score of at least {MAINSTREAM_MIN_SCORE:g} "
            f"(is {'none' if value is None else f'{value:g}'})",
            {"has": value, "needs": MAINSTREAM_MIN_SCORE},
        ),
        Requirement(
            "gate.mainstreamed.criterion_too_low",
            bool(latest) and not low,
            f"mainstreaming needs every criterion mean at least {MAINSTREAM_MIN_CRITERION_MEAN:g}; below: {names}",
            {"below": low, "needs": MAINSTREAM_MIN_CRITERION_MEAN},
        ),
        Requirement(
            "gate.mainstreamed.third_evaluator_required",
            spread < MAINSTREAM_MAX_SPREAD or len(latest) >= MAINSTREAM_TIEBREAK_EVALUATORS,
            f"the evaluators' scores differ by {spread:g} points (30 or more): "
            "a third evaluator must assess before mainstreaming",
            {"has": spread, "needs": MAINSTREAM_MAX_SPREAD},
        ),
    ]


def check_decision_open(innovation: Innovation, decision: str) -> None:
    """Refuse a decision the innovation does not take now, whatever comes with it: one its status does not accept,
    `resume` unless it is on hold, `recycle` from the first stage (there is no earlier one). A gate's requirements
    and a recycle's target are checked after (decision_event)."""
    check_accepts(innovation.status, decision)
    if decision == "resume" and innovation.status != "on_hold":
        raise IllegalDecisionError("only an innovation on hold can be resumed", rule="decision.resume_requires_hold")
    if decision == "recycle" and stage_index(innovation.stage) == 0:
        raise IllegalDecisionError(
            f"recycle must go back to a stage before {innovation.stage}", rule="decision.recycle_requires_earlier_stage"
        )


def decisions_open(innovation: Innovation) -> list[str]:
    """The decisions the innovation takes now (check_decision_open), in DECISIONS' order: what a manager is offered."""
    return [decision for decision in DECISIONS if holds(check_decision_open, innovation, decision)]


def check_gate(innovation: Innovation) -> None:
    """Refuse `advance` with an error naming the first unmet requirement."""
    for requirement in gate_requirements(innovation):
        if not requirement.met:
            raise GateNotMetError(requirement.message, rule=requirement.rule)


def recycle_targets(innovation: Innovation) -> list[str]:
    """The stages a recycle may send the innovation back to: those before its own."""
    return list(STAGES[: stage_index(innovation.stage)])


def decision_event(innovation: Innovation, decision: str, to_stage: str | None) -> tuple[type[Any], dict[str, Any]]:
    """The event a gate decision records and its fields (besides the rationale), or the error that refuses it."""
    stage = innovation.stage
    check_decision_open(innovation, decision)
    if decision == "advance":
        check_gate(innovation)
        return innovation.Advanced, {"from_stage": stage, "to_stage": next_stage(stage)}
    if decision == "hold":
        return innovation.PutOnHold, {"stage": stage}
    if decision == "resume":
        return innovation.Resumed, {"stage": stage}
    if decision == "recycle":
        if to_stage is None:
            earlier = ", ".join(recycle_targets(innovation))
            raise ValidationError("to_stage", f"name the earlier stage to go back to: one of {earlier}")
        target = choice(to_stage, "to_stage", STAGES)
        if stage_index(target) >= stage_index(stage):
            raise IllegalDecisionError(
                f"recycle must go back to a stage before {stage}", rule="decision.recycle_requires_earlier_stage"
            )
        return innovation.Recycled, {"from_stage": stage, "to_stage": target}
    return innovation.Discontinued, {"stage": stage}
