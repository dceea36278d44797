"""The stable dotted names of the stored events, as the event feed and webhooks publish them.

The stored topic of an event class follows the Python module and class names, which may change; these names do not.
Every event class of the domain has exactly one name here (a test checks it), and a name, once published, is never
given to another class."""

from __future__ import annotations

import functools
import types
import typing
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.utils import get_topic

from tracker.ecosystem import Ecosystem
from tracker.innovation import Innovation
from tracker.organisation import Organisation
from tracker.records import BASE_FIELDS, EventRecord

EVENT_TYPES: dict[type[Any], str] = {
    Organisation.Registered: "organisation.registered",
    Ecosystem.Registered: "ecosystem.registered",
    Ecosystem.MemberJoined: "ecosystem.member_joined",
    Innovation.Submitted: "innovation.submitted",
    Innovation.DetailsRevised: "innovation.details_revised",
    Innovation.PilotStarted: "innovation.pilot_started",
    Innovation.PilotOutcomeRecorded: "innovation.pilot_outcome_recorded",
    Innovation.EvidenceAdded: "innovation.evidence_added",
    Innovation.AdoptionRecorded: "innovation.adoption_recorded",
    Innovation.AssessmentRecorded: "innovation.assessment_recorded",
    Innovation.EvaluatorAssigned: "innovation.evaluator_assigned",
    Innovation.EvaluatorUnassigned: "innovation.evaluator_unassigned",
    Innovation.NoteAdded: "innovation.note_added",
    Innovation.Advanced: "innovation.advanced",
    Innovation.PutOnHold: "innovation.put_on_hold",
    Innovation.Resumed: "innovation.resumed",
    Innovation.Recycled: "innovation.recycled",
    Innovation.Discontinued: "innovation.discontinued",
}
NAMES = frozenset(EVENT_TYPES.values())
CLASSES: dict[str, type[Any]] = {name: cls for cls, name in EVENT_TYPES.items()}
# Each published name as the audit index and the histories name its event: the aggregate's class and the event's
# (innovation.submitted is Innovation and Submitted); the histories' `type` is the second.


@functools.cache
def indexed(cls: type[Any]) -> tuple[str, str]:
    """How the audit index and the histories name an event class: its aggregate's class and its own name."""
    aggregate, _, event = cls.__qualname__.rpartition(".")
    return aggregate.split(".")[0], event


INDEXED: dict[str, tuple[str, str]] = {name: indexed(cls) for name, cls in CLASSES.items()}
INDEXED_TYPES = frozenset(kind for _, kind in INDEXED.values())
_TOPICS: dict[str, str] = {name: get_topic(cls) for name, cls in CLASSES.items()}
_NAMES_BY_TOPIC: dict[str, str] = {topic: name for name, topic in _TOPICS.items()}
# Gate decisions: the events of what a manager decided at a stage's gate, and the decision each records
# (tracker.stages.DECISIONS).
DECISIONS = {
    "innovation.advanced": "advance",
    "innovation.put_on_hold": "hold",
    "innovation.resumed": "resume",
    "innovation.recycled": "recycle",
    "innovation.discontinued": "discontinue",
}
# The namespace of the events' ids: an event's id is derived from its aggregate and version, so it never changes.
_EVENT_ID_NAMESPACE = UUID("5d0c8a4e-2f0b-4c53-9b8e-6f1d2a7c9e31")


def name_of(event: Any) -> str:
    """The published name of a domain event."""
    return EVENT_TYPES[type(event)]


def name_of_topic(topic: str) -> str | None:
    """The published name of a stored topic (None for a topic the domain no longer has)."""
    return _NAMES_BY_TOPIC.get(topic)


def topics(names: typing.Iterable[str]) -> list[str]:
    """The stored topics of these published names (each must be one of NAMES)."""
    return [_TOPICS[name] for name in names]


def event_id(aggregate_id: UUID, version: int) -> UUID:
    """The event's id: the same for the same aggregate and version, on every read and every retry."""
    return uuid.uuid5(_EVENT_ID_NAMESPACE, f"{aggregate_id}:{version}")


@dataclass(frozen=True)
class Field:
    """One field of an event's payload, for describing it (the OpenAPI document)."""

    name: str
    kind: str  # str, int, float, bool, uuid, date, datetime, decimal, dict, list
    nullable: bool
    items: str | None = None  # the kind of a list's items


def payload_fields(cls: type[Any]) -> list[Field]:
    """The fields of an event class's payload (the event without the envelope every event has)."""
    hints = typing.get_type_hints(cls)
    fields = []
    for name, hint in hints.items():
        if name in BASE_FIELDS or name.startswith("_") or typing.get_origin(hint) is typing.ClassVar:
            continue
        fields.append(_field(name, hint))
    return fields


_KINDS: dict[Any, str] = {
    str: "str",
    int: "int",
    float: "float",
    bool: "bool",
    UUID: "uuid",
    date: "date",
    datetime: "datetime",
    Decimal: "decimal",
}


def _field(name: str, hint: Any) -> Field:
    members = typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, types.UnionType) else (hint,)
    nullable = type(None) in members
    kinds = [m for m in members if m is not type(None)]
    # A field of several kinds (a date given as a date or as text) is published as text.
    base = kinds[0] if len(kinds) == 1 else str
    origin = typing.get_origin(base)
    if origin in (list, tuple):
        inner = typing.get_args(base)
        return Field(name, "list", nullable, _KINDS.get(inner[0], "str") if inner else "str")
    if origin is dict or base is dict:
        return Field(name, "dict", nullable)
    return Field(name, _KINDS.get(base, "str"), nullable)


_BY_QUALNAME: dict[str, str] = {cls.__qualname__: name for cls, name in EVENT_TYPES.items()}


def name_of_record(record: EventRecord) -> str:
    """The published name of a described event (see tracker.records.describe)."""
    return _BY_QUALNAME[f"{record.aggregate_type}.{record.type}"]


def json_safe(value: Any) -> Any:
    """Event data as JSON: UUIDs and decimals as strings, dates and times in ISO 8601 (UTC as Z)."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat().replace("+00:00", "Z")
    return str(value)


def feed_item(record: EventRecord) -> dict[str, Any]:
    """One event as the event feed and webhooks publish it: ids only for people, the payload as JSON."""
    return {
        "position": record.position,
        "id": str(event_id(record.aggregate_id, record.version)),
        "type": name_of_record(record),
        "aggregate_type": record.aggregate_type.lower(),
        "aggregate_id": str(record.aggregate_id),
        "version": record.version,
        "at": json_safe(record.at),
        "actor": {"id": record.actor_id, "role": record.actor_role},
        "correlation_id": record.correlation_id,
        "data": json_safe(record.data),
    }
