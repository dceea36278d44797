"""The items an innovation's events add (pilots, outcomes, evidence, adoptions, assessments, decisions).

Each is built here once: the aggregate keeps them, and the read model stores the same shapes."""

from __future__ import annotations

from typing import Any

from tracker.rubric import RUBRICS, assessment_mpi


def pilot(e: Any, stage: str) -> dict[str, Any]:
    """A pilot as `PilotStarted` starts it, in the innovation's `stage` then."""
    return {
        "pilot_id": e.pilot_id,
        "site_organisation_id": e.site_organisation_id,
        "started_on": e.started_on,
        "planned_participants": e.planned_participants,
        "description": e.description,
        "stage": stage,
        "outcome": None,
    }


def outcome(e: Any) -> dict[str, Any]:
    """A pilot's outcome, from `PilotOutcomeRecorded`."""
    return {
        "ended_on": e.ended_on,
        "participants": e.participants,
        "completion_rate": e.completion_rate,
        "satisfaction": e.satisfaction,
        "notes": e.notes,
        "recorded_at": e.timestamp,
    }


def evidence(e: Any, stage: str) -> dict[str, Any]:
    """An evidence item, from `EvidenceAdded` in the innovation's `stage` then."""
    return {
        "evidence_id": e.evidence_id,
        "kind": e.kind,
        "title": e.title,
        "url": e.url,
        "description": e.description,
        "stage": stage,
        "added_at": e.timestamp,
        "added_by": e.actor_id,
    }


def adoption(e: Any) -> dict[str, Any]:
    """An adoption, from `AdoptionRecorded`."""
    return {
        "adoption_id": e.adoption_id,
        "organisation_id": e.organisation_id,
        "adopted_on": e.adopted_on,
        "notes": e.notes,
        "recorded_at": e.timestamp,
    }


def assessment(e: Any, stage: str, stage_seq: int) -> dict[str, Any]:
    """An assessment with its MPI under the rubric it was made with, from `AssessmentRecorded` in `stage`, in the
    innovation's visit `stage_seq` of it (its round)."""
    return {
        "assessment_id": e.assessment_id,
        "evaluator_id": e.actor_id,
        "evaluator_organisation_id": e.evaluator_organisation_id,
        "rubric_version": e.rubric_version,
        "scores": dict(e.scores),
        "comments": dict(e.comments),
        "mpi": assessment_mpi(e.scores, RUBRICS[e.rubric_version]),
        "rationale": e.rationale,
        "stage": stage,
        "stage_seq": stage_seq,
        "recorded_at": e.timestamp,
    }


def decision(e: Any, decision: str, stage: str, status: str) -> dict[str, Any]:
    """A gate decision, leaving the innovation in `stage` and `status`."""
    return {
        "decision": decision,
        "stage": stage,
        "status": status,
        "rationale": e.rationale,
        "decided_by": e.actor_id,
        "decided_at": e.timestamp,
    }


def assignment(e: Any) -> dict[str, Any]:
    """An evaluator's assignment at a stage, from `EvaluatorAssigned`."""
    return {
        "evaluator_id": e.evaluator_id,
        "evaluator_organisation_id": e.evaluator_organisation_id,
        "stage": e.stage,
        "due_on": e.due_on,
        "assigned_at": e.timestamp,
        "assigned_by": e.actor_id,
    }


def note(e: Any) -> dict[str, Any]:
    """A deliberation note, from `NoteAdded`."""
    return {
        "note_id": e.note_id,
        "author_id": e.actor_id,
        "author_role": e.actor_role,
        "body": e.body,
        "reply_to": e.reply_to,
        "stage": e.stage,
        "written_at": e.timestamp,
    }
