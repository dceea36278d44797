"""What commands return and what the history shows: receipts, the caller of a command, event records."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from tracker.actors import Actor

BASE_FIELDS = frozenset(
    {
        "originator_id",
        "originator_version",
        "timestamp",
        "originator_topic",
        "actor_id",
        "actor_role",
        "actor_key",
        "correlation_id",
    }
)


@dataclass(frozen=True)
class Caller:
    """Who issues a command, the version they read (None: retry server-side on a race) and the correlation id; and
    the aggregate as they have just loaded it, if they have (the command's first attempt starts from it instead of
    loading it again; a retry after a lost race loads it afresh)."""

    actor: Actor
    expected_version: int | None = None
    correlation_id: str | None = None
    loaded: Any = field(default=None, repr=False, compare=False)

    @classmethod
    def take(cls, actor: Actor, fields: dict[str, Any]) -> Caller:
        """The caller, with `expected_version`, `correlation_id` and `loaded` taken out of a command's keyword
        arguments."""
        return cls(
            actor, fields.pop("expected_version", None), fields.pop("correlation_id", None), fields.pop("loaded", None)
        )


@dataclass(frozen=True)
class Receipt:
    """What a command did: the aggregate after it, its version, and the log position of its last event."""

    aggregate_id: UUID
    version: int
    position: int | None
    aggregate: Any = field(repr=False)
    item_id: UUID | None = None
    # What the command recorded, where the caller needs it (the assessment and its MPI).
    recorded: dict[str, Any] | None = None


@dataclass(frozen=True)
class EventRecord:
    """One stored event, as the audit trail shows it."""

    position: int | None
    aggregate_id: UUID
    aggregate_type: str
    version: int
    type: str
    at: datetime
    actor_id: str
    actor_role: str
    actor_key: str | None
    correlation_id: str | None
    data: dict[str, Any]


def describe(event: Any, position: int | None) -> EventRecord:
    """Turn a domain event into an audit record (the payload without the envelope)."""
    qualname = type(event).__qualname__
    data = {k: v for k, v in event.__dict__.items() if k not in BASE_FIELDS}
    return EventRecord(
        position=position,
        aggregate_id=event.originator_id,
        aggregate_type=qualname.split(".")[0],
        version=event.originator_version,
        type=qualname.split(".")[-1],
        at=event.timestamp,
        actor_id=event.actor_id,
        actor_role=event.actor_role,
        actor_key=event.actor_key,
        correlation_id=event.correlation_id,
        data=data,
    )
