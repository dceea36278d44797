"""The event feed: its query, its items and each event type's payload, as the OpenAPI document describes them."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from api.schemas.common import Input
from tracker import event_types

# The longest `wait` a feed read may ask for, in seconds.
MAX_WAIT = 30
_KINDS: dict[str, dict[str, Any]] = {
    "str": {"type": "string"},
    "int": {"type": "integer"},
    "float": {"type": "number"},
    "bool": {"type": "boolean"},
    "uuid": {"type": "string", "format": "uuid"},
    "date": {"type": "string", "format": "date"},
    "datetime": {"type": "string", "format": "date-time"},
    "decimal": {"type": "string", "pattern": r"^-?\d+(\.\d+)?$"},
    "dict": {"type": "object"},
    "list": {"type": "array"},
}


class EventTypes(fields.Str):
    """Event type names, comma-separated (`innovation.submitted,innovation.advanced`), each one of the feed's."""

    def __init__(self, *, wildcard: bool = False, **kwargs: Any) -> None:
        self.wildcard = wildcard
        names = sorted(event_types.NAMES) + (["*"] if wildcard else [])
        description = "Comma-separated event types: " + ", ".join(names) + "."
        super().__init__(metadata={"description": description, "example": "innovation.advanced"}, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[str]:
        text = super()._deserialize(value, attr, data, **kwargs)
        return parse_types(text.split(","), wildcard=self.wildcard)


def parse_types(names: list[str], *, wildcard: bool = False) -> list[str]:
    """The event type names given, checked (each known, no repeats); `*` alone means every type where allowed."""
    names = [name.strip() for name in names]
    if wildcard and names == ["*"]:
        return ["*"]
    unknown = sorted({n for n in names if n not in event_types.NAMES})
    if not names or unknown:
        raise ValidationError(
            f"Unknown event types: {', '.join(repr(n) for n in unknown) or 'none given'}. "
            + ("Use '*' for every type, or" if wildcard else "Use")
            + " names from: "
            + ", ".join(sorted(event_types.NAMES))
            + "."
        )
    return sorted(set(names))


class FeedQuery(Input):
    after = fields.Int(
        load_default=0,
        validate=validate.Range(min=0, max=2**62),
        metadata={"description": "The log position to read after (a page's next_after)."},
    )
    limit = fields.Int(load_default=100, validate=validate.Range(min=1, max=1000))
    types = EventTypes()
    wait = fields.Float(
        load_default=0,
        validate=validate.Range(min=0, max=MAX_WAIT),
        metadata={"description": "Seconds to hold an empty answer open until an event arrives (at most 30)."},
    )


class FeedActorSchema(Schema):
    id = fields.Str(required=True, metadata={"description": "The person's id (older events: the key's name)."})
    role = fields.Str(required=True)


def data_schema_name(name: str) -> str:
    """The OpenAPI component describing the payload of event type `name` (`innovation.submitted` ->
    `InnovationSubmittedData`)."""
    return "".join(part.capitalize() for part in name.replace(".", "_").split("_")) + "Data"


def data_schemas() -> dict[str, dict[str, Any]]:
    """Each event type's payload as an OpenAPI schema, by component name."""
    found = {}
    for cls, name in event_types.EVENT_TYPES.items():
        properties = {}
        for f in event_types.payload_fields(cls):
            prop = dict(_KINDS[f.kind])
            if f.items:
                prop["items"] = dict(_KINDS[f.items])
            if f.nullable:
                prop["nullable"] = True
            properties[f.name] = prop
        found[data_schema_name(name)] = {
            "type": "object",
            "description": f"The payload of `{name}` events.",
            "properties": properties,
            "required": sorted(properties),
        }
    return found


class FeedItemSchema(Schema):
    position = fields.Int(strict=True, required=True)
    id = fields.UUID(required=True, metadata={"description": "The event's id; it never changes."})
    type = fields.Str(required=True, validate=validate.OneOf(sorted(event_types.NAMES)))
    aggregate_type = fields.Str(required=True, validate=validate.OneOf(["organisation", "ecosystem", "innovation"]))
    aggregate_id = fields.UUID(required=True)
    version = fields.Int(strict=True, required=True)
    at = fields.AwareDateTime(format="iso", required=True)
    actor = fields.Nested(FeedActorSchema, required=True)
    correlation_id = fields.Str(allow_none=True, required=True)
    data = fields.Dict(
        required=True,
        metadata={
            "description": "The event's fields; the payload of each type is described by its `…Data` schema.",
            "anyOf": [{"$ref": f"#/components/schemas/{data_schema_name(n)}"} for n in sorted(event_types.NAMES)],
        },
    )


class FeedPageSchema(Schema):
    items = fields.List(fields.Nested(FeedItemSchema), required=True)
    next_after = fields.Int(
        strict=True, required=True, metadata={"description": "Pass as `after` to read on from this page."}
    )
