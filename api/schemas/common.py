"""What every schema shares: strict inputs, countries, money, problems, pages, the consolidated MPI."""

from __future__ import annotations

import re
from datetime import UTC
from typing import Any, ClassVar

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from tracker import limits
from tracker.countries import COUNTRY_NAMES, EU_ALIASES
from tracker.validation import country_code

SHORT = validate.Length(min=1, max=limits.NAME_MAX)
COUNTRY = validate.OneOf(
    sorted([*COUNTRY_NAMES, *EU_ALIASES]),
    error="Must be an ISO 3166-1 alpha-2 code in capitals (EL and UK are accepted).",
)
LONG = validate.Length(min=1, max=limits.TEXT_MAX)
LABEL = validate.Length(min=1, max=limits.LABEL_MAX)
URL = validate.Length(min=1, max=limits.URL_MAX)


def within(bounds: limits.Range) -> validate.Range:
    """A number within one of the domain's ranges (tracker.limits)."""
    return validate.Range(min=bounds.low, max=bounds.high)


# A text search (`q`).
SEARCH = validate.Length(min=1, max=200)

MONEY_PATTERN = r"^\d{1,12}(\.\d{1,2})?$"


class Money(fields.Decimal):
    """Euros as a decimal string ("136836.00"); numbers are refused so no float ever rounds a grant."""

    def __init__(self, **kwargs: Any) -> None:
        metadata = {"type": "string", "pattern": MONEY_PATTERN, "example": "136836.00"} | kwargs.pop("metadata", {})
        super().__init__(places=2, as_string=True, metadata=metadata, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, str) or not re.match(MONEY_PATTERN, value):
            raise ValidationError('Must be a decimal string with at most two decimal places, such as "136836.00".')
        return super()._deserialize(value, attr, data, **kwargs)


class CountryFilter(fields.Str):
    """A country to filter by: an ISO 3166-1 alpha-2 code in capitals, EL and UK read as GR and GB, the codes the
    tracker stores (tracker.validation.country_code)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(validate=COUNTRY, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        code = super()._deserialize(value, attr, data, **kwargs)
        # Anything else is left for the validator to refuse, with the filter's own message.
        return country_code(code) if code in COUNTRY.choices else code


class Day(fields.Date):
    """A calendar day as ISO 8601 writes it; a refusal says so."""

    default_error_messages: ClassVar[dict[str, str]] = {
        "invalid": "Not a valid date: give it as YYYY-MM-DD, such as 2025-06-01."
    }


class Instant(fields.AwareDateTime):
    """An instant in ISO 8601 with its time zone, as a query names one (`as_of`, `since`, `until`). One that UTC
    cannot name (an offset that takes it before year 1 or after 9999) is refused here, not in the query."""

    default_error_messages: ClassVar[dict[str, str]] = {
        "invalid": "Not a valid date and time: give it in ISO 8601 with its time zone, such as 2025-06-01T00:00:00Z.",
        "invalid_awareness": "Give the time zone too, such as 2025-06-01T00:00:00Z or 2025-06-01T03:00:00+03:00.",
    }

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="iso", **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        moment = super()._deserialize(value, attr, data, **kwargs)
        try:
            moment.astimezone(UTC)
        except OverflowError:
            raise ValidationError("Must be an instant from 0001-01-01 to 9999-12-31 in UTC.") from None
        return moment


class StrictBool(fields.Boolean):
    """JSON true or false only (0, 1, "yes" and friends are refused)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


class Input(Schema):
    class Meta:
        unknown = RAISE


class ProblemSchema(Schema):
    """RFC 9457 problem details."""

    type = fields.Str(required=True, metadata={"example": "about:blank"})
    title = fields.Str(required=True)
    status = fields.Int(strict=True, required=True)
    detail = fields.Str()
    instance = fields.Str()
    rule = fields.Str(metadata={"description": "The domain rule that refused the command."})
    errors = fields.Dict(keys=fields.Str(), values=fields.List(fields.Str()))
    request_id = fields.Str()


class MpiSchema(Schema):
    value = fields.Float(required=True)
    evaluators = fields.Int(strict=True, required=True)
    spread = fields.Float(required=True)


class PageQuery(Input):
    page = fields.Int(load_default=1, validate=validate.Range(min=1, max=1_000_000))
    page_size = fields.Int(load_default=20, validate=validate.Range(min=1, max=200))


def page_of(item: type[Schema] | Schema) -> type[Schema]:
    item_schema = item if isinstance(item, Schema) else item()
    name = f"{type(item_schema).__name__.removesuffix('Schema')}PageSchema"
    return Schema.from_dict(
        {
            "items": fields.List(fields.Nested(item_schema), required=True),
            "total": fields.Int(strict=True, required=True),
            "page": fields.Int(strict=True, required=True),
            "page_size": fields.Int(strict=True, required=True),
        },
        name=name,
    )
