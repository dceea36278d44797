"""The fields of an innovation's pilot, outcome, evidence and adoption commands, checked before an event keeps them."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any
from uuid import UUID

from tracker import limits, validation
from tracker.errors import DuplicateAdoptionError, InvalidDateError
from tracker.rules import check_accepts, holds
from tracker.stages import EVIDENCE_KINDS
from tracker.validation import choice, day, integer, line, number, text

if TYPE_CHECKING:
    from tracker.innovation_state import InnovationState


def pilot(
    today: date, *, started_on: date | str, planned_participants: int | None, description: str | None
) -> dict[str, Any]:
    return {
        "started_on": day(started_on, "started_on", today=today),
        "planned_participants": integer(
            planned_participants,
            "planned_participants",
            low=limits.PARTICIPANTS.low,
            high=limits.PARTICIPANTS.high,
            required=False,
        ),
        "description": text(description, "description", max_length=limits.TEXT_MAX, required=False),
    }


def outcome(
    today: date,
    started_on: date,
    *,
    ended_on: date | str,
    participants: int,
    completion_rate: float,
    satisfaction: float | None,
    notes: str | None,
) -> dict[str, Any]:
    ended = day(ended_on, "ended_on", today=today)
    assert ended is not None
    if ended < started_on:
        raise InvalidDateError("ended_on", "must not be before the pilot started", rule="validation.date.order")
    return {
        "ended_on": ended,
        "participants": integer(
            participants, "participants", low=limits.PARTICIPANTS.low, high=limits.PARTICIPANTS.high
        ),
        "completion_rate": number(
            completion_rate, "completion_rate", low=limits.COMPLETION_RATE.low, high=limits.COMPLETION_RATE.high
        ),
        "satisfaction": number(
            satisfaction, "satisfaction", low=limits.SATISFACTION.low, high=limits.SATISFACTION.high, required=False
        ),
        "notes": text(notes, "notes", max_length=limits.TEXT_MAX, required=False),
    }


def evidence(*, kind: str, title: str, url: str | None, description: str | None) -> dict[str, Any]:
    return {
        "kind": choice(kind, "kind", EVIDENCE_KINDS),
        "title": line(title, "title", max_length=limits.NAME_MAX),
        "url": validation.url(url, "url"),
        "description": text(description, "description", max_length=limits.TEXT_MAX, required=False),
    }


def adoption(
    innovation: InnovationState, today: date, *, organisation_id: UUID, adopted_on: date | str, notes: str | None
) -> dict[str, Any]:
    """An adoption by another organisation than the owner, once per organisation."""
    check_may_adopt(innovation, organisation_id)
    return {
        "organisation_id": organisation_id,
        "adopted_on": day(adopted_on, "adopted_on", today=today),
        "notes": text(notes, "notes", max_length=limits.TEXT_MAX, required=False),
    }


def adopted_by(innovation: InnovationState, organisation_id: UUID) -> bool:
    return any(a["organisation_id"] == organisation_id for a in innovation.adoptions)


def check_may_adopt(innovation: InnovationState, organisation_id: UUID) -> None:
    """Refuse an adoption of the innovation by the organisation unless the innovation takes adoptions (its status),
    the organisation is not its owner, and has not adopted it already."""
    check_accepts(innovation.status, "record_adoption")
    if organisation_id == innovation.organisation_id:
        raise DuplicateAdoptionError("the owning organisation cannot adopt its own innovation", rule="adoption.owner")
    if adopted_by(innovation, organisation_id):
        raise DuplicateAdoptionError(f"organisation {organisation_id} has already adopted this innovation")


def may_adopt(innovation: InnovationState, organisation_id: UUID) -> bool:
    """Whether the organisation may record an adoption of the innovation (check_may_adopt)."""
    return holds(check_may_adopt, innovation, organisation_id)
