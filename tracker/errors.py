"""Domain errors. Each names the rule that refused the command."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A command was refused by a domain rule; nothing was recorded."""

    rule: str = "domain"

    def __init__(self, message: str, *, rule: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        if rule is not None:
            self.rule = rule
        self.details = details

    def __str__(self) -> str:
        return f"{self.message} [{self.rule}]"


class ValidationError(DomainError):
    """A field value breaks a domain rule (range, format, vocabulary)."""

    rule = "validation"

    def __init__(self, field: str, message: str, *, rule: str | None = None) -> None:
        # Subclasses name their own rule (validation.date, …); plain field errors name the field.
        default = type(self).rule if type(self) is not ValidationError else f"validation.{field}"
        super().__init__(f"{field}: {message}", rule=rule or default)
        self.field = field
        self.field_message = message


class InvalidCountryError(ValidationError):
    rule = "validation.country"


class InvalidDateError(ValidationError):
    rule = "validation.date"


class InvalidScoresError(ValidationError):
    rule = "scores.invalid"


class NotFoundError(DomainError):
    rule = "not_found"

    def __init__(self, kind: str, ident: object) -> None:
        super().__init__(f"{kind} {ident} not found", rule=f"not_found.{kind}")
        self.kind = kind
        self.ident = ident


class DuplicateError(DomainError):
    rule = "duplicate"


class DuplicateOrganisationError(DuplicateError):
    rule = "duplicate.organisation"


class DuplicateEcosystemError(DuplicateError):
    rule = "duplicate.ecosystem"


class DuplicateMembershipError(DuplicateError):
    rule = "duplicate.membership"


class DuplicateAdoptionError(DuplicateError):
    rule = "duplicate.adoption"


class GateNotMetError(DomainError):
    """An `advance` decision whose gate requirement is not met."""

    rule = "gate"


class IllegalDecisionError(DomainError):
    """A decision that makes no sense in the current stage or status."""

    rule = "decision.illegal"


class InnovationOnHoldError(DomainError):
    rule = "hold.only_resume_or_discontinue"


class TerminalStateError(DomainError):
    """Discontinued accepts nothing; mainstreamed accepts only evidence and adoptions."""

    rule = "terminal"


class ConflictOfInterestError(DomainError):
    rule = "conflict_of_interest"


class PilotError(DomainError):
    rule = "pilot"


class AssignmentError(DomainError):
    """An evaluator cannot be assigned or unassigned as asked."""

    rule = "assignment"


class AssessmentError(DomainError):
    """The actor may not assess this innovation now (not assigned at its current stage)."""

    rule = "assessment"


class NoteError(DomainError):
    """The actor may not write a deliberation note here yet."""

    rule = "note"


class VersionConflictError(DomainError):
    """The aggregate moved on since the caller read it (optimistic concurrency)."""

    rule = "version_conflict"

    def __init__(self, aggregate_id: object, expected: int | None, actual: int | None) -> None:
        super().__init__(
            f"{aggregate_id} is at version {actual}, not the expected {expected}",
            expected=expected,
            actual=actual,
        )
        self.aggregate_id = aggregate_id
        self.expected = expected
        self.actual = actual
