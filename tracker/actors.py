"""Who caused an event: every command carries an actor and, optionally, a correlation id."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from tracker import limits
from tracker.errors import ValidationError

# The roles a person (and so each of their API keys) may hold; importers and the system act without one.
PERSON_ROLES = ("admin", "manager", "provider", "evaluator", "analyst")
ROLES = (*PERSON_ROLES, "importer", "system")
# The roles bound to an organisation, on whose behalf they act.
ORGANISATION_ROLES = ("provider", "evaluator")
# Roles that may be bound to an organisation but need not be (a manager of one centre, or of a whole network).
OPTIONAL_ORGANISATION_ROLES = ("manager",)
# The roles that read everything, audit included; what the others read is set by the confidentiality policy.
READ_ALL_ROLES = ("admin", "manager", "analyst")


@dataclass(frozen=True)
class Actor:
    """The principal behind a command; stored on every event it causes."""

    id: str
    role: str
    organisation_id: UUID | None = None
    # The API key (its id, never its secret) or other credential the command came through, if any.
    key: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id.strip() or len(self.id) > limits.ID_MAX:
            raise ValidationError("actor.id", f"must be a non-empty string of at most {limits.ID_MAX} characters")
        if self.role not in ROLES:
            raise ValidationError("actor.role", f"must be one of {', '.join(ROLES)}")
