"""Gate decisions: what each decision records, and what an innovation needs before `advance` takes it on."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tracker.errors import GateNotMetError, IllegalDecisionError
from tracker.rubric import MAX_SPREAD, TIEBREAK_EVALUATORS, consolidate, criterion_means
from tracker.stages import STAGES, next_stage, stage_index
from tracker.validation import choice

if TYPE_CHECKING:
    from tracker.innovation import Innovation

MAINSTREAM_MIN_EVALUATORS = 2
MAINSTREAM_MIN_SCORE = 60.0
MAINSTREAM_MIN_CRITERION_MEAN = 2.0
MAINSTREAM_MAX_SPREAD = MAX_SPREAD
MAINSTREAM_TIEBREAK_EVALUATORS = TIEBREAK_EVALUATORS


def check_gate(innovation: Innovation) -> None:
    """Refuse `advance` with an error naming the unmet requirement."""
    target = next_stage(innovation.stage)
    if target == "testing" and not any(a["stage"] == "identification" for a in innovation.assessments):
        raise GateNotMetError(
            "advancing to testing needs at least one assessment recorded in identification",
            rule="gate.testing.assessment_required",
        )
    if target == "development" and not any(p["outcome"] is not None for p in innovation.pilots.values()):
        raise GateNotMetError(
            "advancing to development needs at least one pilot with a recorded outcome",
            rule="gate.development.pilot_outcome_required",
        )
    if target == "assessment" and not innovation.evidence:
        raise GateNotMetError(
            "advancing to assessment needs at least one evidence item", rule="gate.assessment.evidence_required"
        )
    if target == "mainstreamed":
        check_mainstreaming_gate(innovation)


def check_mainstreaming_gate(innovation: Innovation) -> None:
    latest = innovation.latest_assessments(stage="assessment")
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
    low = {k: v for k, v in criterion_means(a["scores"] for a in latest).items() if v < MAINSTREAM_MIN_CRITERION_MEAN}
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


def decision_event(innovation: Innovation, decision: str, to_stage: str | None) -> tuple[type[Any], dict[str, Any]]:
    """The event a gate decision records and its fields (besides the rationale), or the error that refuses it."""
    stage = innovation.stage
    if decision == "advance":
        check_gate(innovation)
        return innovation.Advanced, {"from_stage": stage, "to_stage": next_stage(stage)}
    if decision == "hold":
        return innovation.PutOnHold, {"stage": stage}
    if decision == "resume":
        if innovation.status != "on_hold":
            raise IllegalDecisionError(
                "only an innovation on hold can be resumed", rule="decision.resume_requires_hold"
            )
        return innovation.Resumed, {"stage": stage}
    if decision == "recycle":
        target = choice(to_stage, "to_stage", STAGES)
        if stage_index(target) >= stage_index(stage):
            raise IllegalDecisionError(
                f"recycle must go back to a stage before {stage}", rule="decision.recycle_requires_earlier_stage"
            )
        return innovation.Recycled, {"from_stage": stage, "to_stage": target}
    return innovation.Discontinued, {"stage": stage}
