"""Streamed CSV export of list endpoints, with spreadsheet formula injection neutralised."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask import Response, stream_with_context

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> str:
    """A CSV cell; text that a spreadsheet would run as a formula gets a leading apostrophe."""
    if value is None:
        return ""
    kind = type(value)
    if kind is str:  # the common case first
        return "'" + value if value.startswith(_FORMULA_START) else value
    if kind is int or kind is float:
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return str(value)  # a number the application computed, never text a caller wrote
    if isinstance(value, (list, tuple)):
        value = "; ".join(str(v) for v in value)
    text = str(value)
    if text.startswith(_FORMULA_START):  # even "-1" or "+1" in text: a caller's text is never a formula
        return "'" + text
    return text


def stream_csv(
    columns: list[str],
    rows: Iterable[dict[str, Any]],
    *,
    filename: str,
    flatten: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> Response:
    def generate() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(columns)
        for n, row in enumerate(rows, 1):
            flat = flatten(row) if flatten else row
            writer.writerow([cell(flat.get(c)) for c in columns])
            if n % 500 == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    response = Response(stream_with_context(generate()), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
