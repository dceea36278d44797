"""Who caused an event: every command carries an actor and, optionally, a correlation id."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from tracker import limits
from tracker.errors import ValidationError

# The roles a person (and an API key) may hold; importers and the system act without one.
PERSON_ROLES = ("admin", "provider", "evaluator", "analyst")
ROLES = (*PERSON_ROLES, "importer", "system")
# The roles bound to an organisation, on whose behalf they act.
ORGANISATION_ROLES = ("provider", "evaluator")


@dataclass(frozen=True)
class Actor:
    """The principal behind a command; stored on every event it causes."""

    id: str
    role: str
    organisation_id: UUID | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id.strip() or len(self.id) > limits.ID_MAX:
            raise ValidationError("actor.id", f"must be a non-empty string of at most {limits.ID_MAX} characters")
        if self.role not in ROLES:
            raise ValidationError("actor.role", f"must be one of {', '.join(ROLES)}")
