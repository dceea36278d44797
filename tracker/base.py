"""The base aggregate: every event carries who caused it, and when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate

from tracker.actors import Actor

A = TypeVar("A", bound="TrackerAggregate")


@dataclass(frozen=True)
class Context:
    """The circumstances of one command: actor, correlation id and the command's time."""

    actor: Actor
    at: datetime
    correlation_id: str | None = None

    def event_fields(self) -> dict[str, Any]:
        return {
            "actor_id": self.actor.id,
            "actor_role": self.actor.role,
            "actor_key": self.actor.key,
            "correlation_id": self.correlation_id,
            "timestamp": self.at,
        }


class TrackerAggregate(Aggregate):
    """An aggregate whose events all record their actor and correlation id."""

    class Event(Aggregate.Event):
        actor_id: str
        actor_role: str
        # The key the actor used; events stored before keys belonged to people have none (the class default below).
        actor_key: str | None
        correlation_id: str | None

    class Created(Event, Aggregate.Created):
        pass

    # A stored event without `actor_key` is read back by filling the instance's dict, so the attribute falls back to
    # this class value; a new event must still name it (it is a field without a default).
    Event.actor_key = None  # type: ignore[misc]

    @classmethod
    def _start(cls: type[A], event_class: type[Any], ctx: Context, *, id: UUID, **fields: Any) -> A:  # noqa: A002
        return cls._create(event_class, id=id, **ctx.event_fields(), **fields)

    def _record(self, event_class: type[Any], ctx: Context, **fields: Any) -> None:
        self.trigger_event(event_class, **ctx.event_fields(), **fields)
