"""Streamed CSV export of list endpoints, with spreadsheet formula injection neutralised."""

from __future__ import annotations

import csv
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from flask import Response, stream_with_context

_FORMULA_START = frozenset("=+-@\t\r\n")
# Signs NFKC leaves alone that spreadsheets still read as an operator.
_LOOKALIKES = frozenset("\u2212\u2013\u2014\u02d7")


def is_formula(text: str) -> bool:
    """Whether a spreadsheet could run this text as a formula: it starts (after spaces) with =, +, -, @, a tab or a
    line break, in any width or look-alike form (the fullwidth ＝ among them, compared after NFKC)."""
    first = text[:1]
    if first.isascii() and first != " ":
        return first in _FORMULA_START
    head = unicodedata.normalize("NFKC", text.lstrip(" \u3000")[:4]).lstrip(" ")[:1]
    return head in _FORMULA_START or head in _LOOKALIKES


def cell(value: Any) -> str:
    """A CSV cell; text that a spreadsheet would run as a formula gets a leading apostrophe."""
    if value is None:
        return ""
    kind = type(value)
    if kind is str:  # the common case first
        return "'" + value if is_formula(value) else value
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
    if is_formula(text):  # even "-1" or "+1" in text: a caller's text is never a formula
        return "'" + text
    return text


def text_cell(value: str | None) -> str | None:
    """`cell` for a text column, or None (csv writes an empty cell), without looking at the type each time."""
    if value is not None and is_formula(value):
        return "'" + value
    return value


def list_cell(value: list[Any] | None) -> str:
    """`cell` for a list column: the items joined with "; ", neutralised as text."""
    if not value:
        return ""
    text = "; ".join(map(str, value))
    return "'" + text if is_formula(text) else text


def stream_csv(
    columns: list[str],
    rows: Iterable[dict[str, Any]],
    *,
    filename: str,
    flatten: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> Response:
    """Dictionaries as CSV, every value through `cell`."""

    def cells() -> Iterator[list[str]]:
        for row in rows:
            flat = flatten(row) if flatten else row
            yield [cell(flat.get(c)) for c in columns]

    return _response(csv_chunks(columns, cells()), filename)


def stream_rows(
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    formats: Sequence[Callable[[Any], Any] | None],
    filename: str,
) -> Response:
    """Rows in `columns` order as CSV; `formats` has, per column, the cell function or None for a value written as
    it is (None as an empty cell, a number as str() gives it): only for values no caller wrote, such as numbers,
    ids and instants the application made."""
    return _response(csv_chunks(columns, formatted(rows, formats)), filename)


def formatted(rows: Iterable[Sequence[Any]], formats: Sequence[Callable[[Any], Any] | None]) -> Iterator[list[Any]]:
    """Each row with its cell functions applied."""
    apply = [(n, format_) for n, format_ in enumerate(formats) if format_ is not None]
    for row in rows:
        out = list(row)
        for n, format_ in apply:
            out[n] = format_(out[n])
        yield out


def csv_chunks(columns: Sequence[str], rows: Iterable[Sequence[Any]], *, rows_per_chunk: int = 500) -> Iterator[str]:
    """What csv.writer writes (header first), in chunks of `rows_per_chunk` rows.

    A row none of whose cells holds a comma, quote or line break is its cells joined with commas, which costs far
    less than csv.writer's scan of every character; any other row goes through csv.writer itself."""
    parts: list[str] = []
    writer = csv.writer(SimpleNamespace(write=parts.append))
    writer.writerow(columns)
    for n, row in enumerate(rows, 1):
        cells = ["" if value is None else str(value) for value in row]
        line = ",".join(cells)
        if line and line.count(",") == len(cells) - 1 and '"' not in line and "\n" not in line and "\r" not in line:
            parts.append(line + "\r\n")
        else:
            writer.writerow(row)
        if n % rows_per_chunk == 0:
            yield "".join(parts)
            parts.clear()
    yield "".join(parts)


def _response(chunks: Iterator[str], filename: str) -> Response:
    response = Response(stream_with_context(chunks), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
