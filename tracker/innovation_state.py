"""An innovation's state, and what is read from it: each evaluator's latest assessment, the consolidated MPI."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from tracker import items
from tracker.errors import NotFoundError
from tracker.rubric import Consolidated, consolidate


class InnovationState:
    """The attributes the Innovation's events set, and the readings taken from them."""

    if TYPE_CHECKING:
        id: UUID
        version: int
        created_on: datetime
        modified_on: datetime
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
        # Which visit of a stage the innovation is in: 1 at submission, one more at each change of stage. A round of
        # evaluation is one visit: an innovation recycled back to a stage starts a new round there.
        stage_seq: int
        pilots: dict[str, dict[str, Any]]
        evidence: list[dict[str, Any]]
        assessments: list[dict[str, Any]]
        adoptions: list[dict[str, Any]]
        decisions: list[dict[str, Any]]
        # The evaluators assigned at the current stage, by person id; a change of stage ends them.
        assignments: dict[str, dict[str, Any]]
        notes: list[dict[str, Any]]

    def latest_assessments(self, stage: str | None = None) -> list[dict[str, Any]]:
        """Each evaluator's latest assessment (optionally among those made in one stage)."""
        latest: dict[str, dict[str, Any]] = {}
        for assessment in self.assessments:
            if stage is None or assessment["stage"] == stage:
                latest[assessment["evaluator_id"]] = assessment
        return list(latest.values())

    def round_assessments(self) -> list[dict[str, Any]]:
        """Each evaluator's latest assessment in the current round (this visit of the current stage)."""
        latest: dict[str, dict[str, Any]] = {}
        for assessment in self.assessments:
            if assessment["stage_seq"] == self.stage_seq:
                latest[assessment["evaluator_id"]] = assessment
        return list(latest.values())

    @property
    def consolidated(self) -> Consolidated | None:
        return consolidate(a["mpi"] for a in self.latest_assessments())

    def summary_fields(self) -> dict[str, Any]:
        """The innovation's fields as the read model keeps them (see projections.queries.innovations.detail)."""
        score = self.consolidated
        return {
            "id": self.id,
            "title": self.title,
            "summary": self.summary,
            "themes": self.themes,
            "target_groups": self.target_groups,
            "organisation_id": self.organisation_id,
            "ecosystem_id": self.ecosystem_id,
            "stage": self.stage,
            "status": self.status,
            "readiness_level": self.readiness_level,
            "mpi_value": score.value if score else None,
            "mpi_evaluators": score.evaluators if score else 0,
            "mpi_spread": score.spread if score else None,
            "pilots_count": len(self.pilots),
            "evidence_count": len(self.evidence),
            "assessments_count": len(self.assessments),
            "adoptions_count": len(self.adoptions),
            "pilots": list(self.pilots.values()),
            "evidence": self.evidence,
            "adoptions": self.adoptions,
            "submitted_at": self.created_on,
            "updated_at": self.modified_on,
            "version": self.version,
        }

    def assessment(self, assessment_id: UUID) -> dict[str, Any]:
        """One recorded assessment."""
        for found in self.assessments:
            if found["assessment_id"] == assessment_id:
                return found
        raise NotFoundError("assessment", assessment_id)

    def _enter_stage(self, stage: str, at: datetime) -> None:
        self.stage = stage
        self.stage_seq += 1
        self.stage_entered_at = at
        self.assignments = {}

    def _note_decision(self, decision: str, event: Any) -> None:
        self.decisions.append(items.decision(event, decision, self.stage, self.status))
