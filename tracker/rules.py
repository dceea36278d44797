"""Rules every innovation command meets: what a status accepts, the conflict of interest, the revisable details."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from tracker import limits
from tracker.errors import (
    ConflictOfInterestError,
    DomainError,
    InnovationOnHoldError,
    TerminalStateError,
    ValidationError,
)
from tracker.validation import integer, labels, line, required_text

# The details a revision may change, each with its check.
_DETAIL_CHECKS: dict[str, Callable[[Any], Any]] = {
    "title": lambda v: line(v, "title", max_length=limits.NAME_MAX),
    "summary": lambda v: required_text(v, "summary", max_length=limits.TEXT_MAX),
    "themes": lambda v: labels(v, "themes"),
    "target_groups": lambda v: labels(v, "target_groups"),
    "readiness_level": lambda v: integer(
        v, "readiness_level", low=limits.READINESS.low, high=limits.READINESS.high, required=False
    ),
}
REVISABLE = tuple(_DETAIL_CHECKS)


def clean_details(fields: dict[str, Any]) -> dict[str, Any]:
    """Validate the revisable details; only the keys given are checked and returned."""
    unknown = set(fields) - set(_DETAIL_CHECKS)
    if unknown:
        raise ValidationError(sorted(unknown)[0], "cannot be revised")
    return {key: _DETAIL_CHECKS[key](value) for key, value in fields.items()}


def check_accepts(status: str, command: str) -> None:
    """Discontinued takes nothing; on hold takes resume/discontinue; mainstreamed takes evidence/adoptions."""
    if status == "discontinued":
        raise TerminalStateError("a discontinued innovation accepts no further changes", rule="terminal.discontinued")
    if status == "on_hold" and command not in ("resume", "discontinue"):
        raise InnovationOnHoldError("an innovation on hold accepts only resume and discontinue")
    if status == "mainstreamed" and command not in ("add_evidence", "record_adoption"):
        raise TerminalStateError(
            "a mainstreamed innovation accepts only evidence and adoptions", rule="terminal.mainstreamed"
        )


def holds(check: Callable[..., None], *args: Any) -> bool:
    """Whether a rule's `check` lets these arguments through: the rule asked as a question (what the pages offer)."""
    try:
        check(*args)
    except DomainError:
        return False
    return True


def accepts(status: str, command: str) -> bool:
    """Whether an innovation in `status` takes `command` at all (check_accepts)."""
    return holds(check_accepts, status, command)


def has_conflict_of_interest(organisation_id: UUID | None, owner_id: UUID, ecosystem_members: frozenset[UUID]) -> bool:
    """Whether a person of `organisation_id` is the owner, or a member of the innovation's ecosystem."""
    return organisation_id is not None and (organisation_id == owner_id or organisation_id in ecosystem_members)


def check_no_conflict_of_interest(
    organisation_id: UUID | None,
    owner_id: UUID,
    ecosystem_members: frozenset[UUID],
    verb: str,
    *,
    rule: str | None = None,
) -> None:
    """Refuse a person from the owning organisation, or from a member of the innovation's ecosystem, who would
    assess, be assigned to or decide on the innovation. `rule` names the refusal where the contract fixes one."""
    if organisation_id is None:
        return
    if organisation_id == owner_id:
        raise ConflictOfInterestError(
            f"a person from the owning organisation may not {verb} this innovation",
            rule=rule or "conflict_of_interest.owner",
        )
    if organisation_id in ecosystem_members:
        raise ConflictOfInterestError(
            f"a person from a member of the innovation's ecosystem may not {verb} this innovation",
            rule=rule or "conflict_of_interest.ecosystem_member",
        )
