"""Small value checks shared by the aggregates and the application."""

from __future__ import annotations

import math
import re
import unicodedata
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from tracker import limits
from tracker.countries import COUNTRY_NAMES, EU_ALIASES
from tracker.errors import InvalidCountryError, InvalidDateError, ValidationError

_SPACES = re.compile(r"\s+")
_URL = re.compile(r"^https?://[^\s/$.?#].[^\s]*$", re.IGNORECASE)


def normalise_name(name: str) -> str:
    """Case-, width- and whitespace-insensitive form of a name, for duplicate checks."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", name)).strip().casefold()


def country_code(value: Any, field: str = "country") -> str:
    """An ISO 3166-1 alpha-2 code; the EU's EL and UK become GR and GB."""
    if not isinstance(value, str):
        raise InvalidCountryError(field, "must be an ISO 3166-1 alpha-2 code")
    code = value.strip().upper()
    code = EU_ALIASES.get(code, code)
    if code not in COUNTRY_NAMES:
        raise InvalidCountryError(field, f"{value!r} is not an ISO 3166-1 alpha-2 code")
    return code


def text(value: Any, field: str, *, max_length: int, required: bool = True) -> str | None:
    """A trimmed string with no control characters, or None when optional and blank."""
    if value is None:
        if required:
            raise ValidationError(field, "is required")
        return None
    if not isinstance(value, str):
        raise ValidationError(field, "must be a string")
    cleaned = value.strip()
    if not cleaned:
        if required:
            raise ValidationError(field, "must not be blank")
        return None
    if len(cleaned) > max_length:
        raise ValidationError(field, f"must be at most {max_length} characters")
    if any(unicodedata.category(ch) == "Cc" and ch not in "\n\t\r" for ch in cleaned):
        raise ValidationError(field, "must not contain control characters")
    return cleaned


def required_text(value: Any, field: str, *, max_length: int) -> str:
    result = text(value, field, max_length=max_length, required=True)
    assert result is not None
    return result


def line(value: Any, field: str, *, max_length: int) -> str:
    """A required one-line text (a name, a title): every run of whitespace in it, line breaks included, is one
    space. A title is also an e-mail's subject and a list's cell, where a line break has no place."""
    return " ".join(required_text(value, field, max_length=max_length).split())


def labels(
    value: Any, field: str, *, max_items: int = limits.LABELS_MAX, max_length: int = limits.LABEL_MAX
) -> list[str]:
    """A list of short labels (themes, target groups), trimmed and de-duplicated in order."""
    if value is None:
        return []
    if not isinstance(value, (list, tuple)):
        raise ValidationError(field, "must be a list of strings")
    seen: list[str] = []
    for item in value:
        label = required_text(item, field, max_length=max_length).lower()
        if label not in seen:
            seen.append(label)
    if len(seen) > max_items:
        raise ValidationError(field, f"must have at most {max_items} items")
    return seen


def choice(value: Any, field: str, options: tuple[str, ...]) -> str:
    if value not in options:
        raise ValidationError(field, f"must be one of {', '.join(options)}")
    return str(value)


def integer(value: Any, field: str, *, low: int, high: int, required: bool = True) -> int | None:
    if value is None:
        if required:
            raise ValidationError(field, "is required")
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(field, "must be an integer")
    if not low <= value <= high:
        raise ValidationError(field, f"must be between {low} and {high}")
    return value


def number(value: Any, field: str, *, low: float, high: float, required: bool = True) -> float | None:
    """A finite number in [low, high]; NaN and infinities are refused."""
    if value is None:
        if required:
            raise ValidationError(field, "is required")
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise ValidationError(field, "must be a number")
    as_float = float(value)
    if not math.isfinite(as_float) or not low <= as_float <= high:
        raise ValidationError(field, f"must be between {low:g} and {high:g}")
    return as_float


def day(value: Any, field: str, *, today: date | None = None, required: bool = True) -> date | None:
    """A calendar date, refused when it lies after `today` (where given)."""
    if value is None:
        if required:
            raise InvalidDateError(field, "is required")
        return None
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value)
        except ValueError:
            raise InvalidDateError(field, "must be a date as YYYY-MM-DD") from None
    if not isinstance(value, date) or hasattr(value, "hour"):
        raise InvalidDateError(field, "must be a date as YYYY-MM-DD")
    if value.year < 1950:
        raise InvalidDateError(field, "must not be before 1950")
    if today is not None and value > today:
        raise InvalidDateError(field, f"must not be in the future (today is {today.isoformat()})")
    return value


def url(value: Any, field: str) -> str | None:
    """An http or https URL with a host, kept as given; any other scheme, or none, is refused."""
    cleaned = text(value, field, max_length=limits.URL_MAX, required=False)
    if cleaned is None:
        return None
    try:
        parts = urlsplit(cleaned)
    except ValueError:
        parts = None
    if parts is None or parts.scheme.lower() not in ("http", "https") or not parts.hostname or not _URL.match(cleaned):
        raise ValidationError(field, "must be an http or https URL with a host, such as https://example.org/report")
    return cleaned


def money(value: Any, field: str) -> Decimal | None:
    """A non-negative euro amount with at most two decimal places."""
    if value is None:
        return None
    try:
        amount = Decimal(str(value)) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        raise ValidationError(field, "must be a decimal amount") from None
    if isinstance(value, (bool, float)) or not amount.is_finite():
        raise ValidationError(field, "must be a decimal amount")
    if amount < 0 or amount >= Decimal("1e12"):
        raise ValidationError(field, "must be between 0 and 999,999,999,999.99")
    if amount.as_tuple().exponent < -2:  # type: ignore[operator]
        raise ValidationError(field, "must have at most two decimal places")
    return amount.quantize(Decimal("0.01"))
